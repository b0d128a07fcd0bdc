import Decisions
import Events
import Forecasting
import Monitoring
import Foundation

/// Writes forecast messages as JSON Lines (the `--offline --out` format) and dead letters as JSON
/// Lines beside them.
public final class FileSink: PipelineSink {
    let forecasts: LineWriter
    let deadLetters: LineWriter?
    /// Drift alerts (opened on the first one).
    let driftPath: String?
    var drifts: LineWriter?
    /// Order recommendations (opened on the first one).
    let recommendationsPath: String?
    var recommendations: LineWriter?

    public init(forecastsPath: String, deadLettersPath: String?, driftPath: String? = nil, recommendationsPath: String? = nil) throws {
        self.driftPath = driftPath
        self.recommendationsPath = recommendationsPath
        forecasts = try LineWriter(path: forecastsPath)
        deadLetters = try deadLettersPath.map { try LineWriter(path: $0) }
    }

    public func emit(_ forecast: ForecastMessage) throws { forecast.jsonBytes.withUnsafeBufferPointer { forecasts.write($0) } }

    public func deadLetter(_ letter: DeadLetter) throws {
        deadLetters?.write(letter.json)
    }

    public func drift(_ alert: DriftAlert, json: [UInt8]) throws {
        if drifts == nil, let driftPath { drifts = try LineWriter(path: driftPath) }
        json.withUnsafeBufferPointer { drifts?.write($0) }
    }

    public func recommend(_ recommendation: Recommendation, json: [UInt8]) throws {
        if recommendations == nil, let recommendationsPath { recommendations = try LineWriter(path: recommendationsPath) }
        json.withUnsafeBufferPointer { recommendations?.write($0) }
    }

    public func flush() throws {
        forecasts.flush()
        deadLetters?.flush()
        drifts?.flush()
        recommendations?.flush()
    }

    public func close() {
        forecasts.close()
        deadLetters?.close()
        drifts?.close()
        recommendations?.close()
    }
}

extension DeadLetter {
    /// JSON form used in files: the original bytes as text when valid UTF-8, else base64.
    public var json: String {
        var s = "{\"reason\":\"\(reason)\",\"detail\":\(EventEncoder.quote(detail)),\"topic\":\(EventEncoder.quote(topic)),\"partition\":\(partition),\"offset\":\(offset)"
        if let text = String(validating: value, as: UTF8.self) {
            s += ",\"value\":\(EventEncoder.quote(text))"
        } else {
            s += ",\"value_base64\":\"\(Data(value).base64EncodedString())\""
        }
        return s + "}"
    }
}
