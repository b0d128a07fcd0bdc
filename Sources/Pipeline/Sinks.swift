import Decisions
import Forecasting
import Monitoring

/// A message the pipeline could not use, with where it came from and why.
public struct DeadLetter: Sendable {
    public var reason: String
    public var detail: String
    public var topic: String
    public var partition: Int32
    public var offset: Int64
    public var key: [UInt8]?
    public var value: [UInt8]
}

/// Where forecasts and dead letters go: a Kafka topic, a file, or memory (tests).
public protocol PipelineSink: AnyObject {
    func emit(_ forecast: ForecastMessage) throws
    func deadLetter(_ letter: DeadLetter) throws
    /// Makes everything emitted so far durable (before a checkpoint may claim it).
    func flush() throws
    /// A drift alert or recovery (the `forecast-drift` topic); `json` is its message.
    func drift(_ alert: DriftAlert, json: [UInt8]) throws
    /// An order recommendation (the recommendations topic); `json` is its message.
    func recommend(_ recommendation: Recommendation, json: [UInt8]) throws
}

extension PipelineSink {
    public func drift(_ alert: DriftAlert, json: [UInt8]) throws {}
    public func recommend(_ recommendation: Recommendation, json: [UInt8]) throws {}
}

/// Keeps everything in memory.
public final class CollectingSink: PipelineSink {
    public private(set) var forecasts: [ForecastMessage] = []
    public private(set) var deadLetters: [DeadLetter] = []
    public private(set) var alerts: [DriftAlert] = []
    public private(set) var recommendations: [Recommendation] = []
    public init() {}
    public func recommend(_ recommendation: Recommendation, json: [UInt8]) throws { recommendations.append(recommendation) }
    public func drift(_ alert: DriftAlert, json: [UInt8]) throws { alerts.append(alert) }
    public func emit(_ forecast: ForecastMessage) throws { forecasts.append(forecast) }
    public func deadLetter(_ letter: DeadLetter) throws { deadLetters.append(letter) }
    public func flush() throws {}
}
