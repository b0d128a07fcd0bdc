import Forecasting
import Events
import Foundation
import NeuralNet
import Pipeline
import Windows

/// Where a benchmark's lines go: its results, and notes on the way (warnings, progress). The
/// command line prints the first to stdout and the second to stderr.
public struct BenchOutput: Sendable {
    public let result: @Sendable (String) -> Void
    public let note: @Sendable (String) -> Void
    public init(result: @escaping @Sendable (String) -> Void, note: @escaping @Sendable (String) -> Void) {
        self.result = result
        self.note = note
    }
}

/// A benchmark that could not measure what it was asked to (its message says why).
public struct BenchmarkError: Error, CustomStringConvertible {
    public let description: String
    init(_ description: String) { self.description = description }
}

/// Wall seconds of `body`.
func time(_ body: () throws -> Void) rethrows -> Double {
    let t0 = DispatchTime.now().uptimeNanoseconds
    try body()
    return Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9
}

/// This process's resident memory now and at its peak, in KB (Linux /proc).
func memoryKB() -> (rss: Int, peak: Int) {
    let status = (try? String(contentsOfFile: "/proc/self/status", encoding: .utf8)) ?? ""
    func field(_ name: String) -> Int {
        status.split(separator: "\n").first { $0.hasPrefix(name) }.flatMap { Int($0.split(separator: " ").dropFirst().first { !$0.isEmpty } ?? "") } ?? 0
    }
    return (field("VmRSS:"), field("VmHWM:"))
}

/// Counts what the pipeline emits without writing it anywhere.
final class CountingSink: PipelineSink {
    var forecasts = 0
    var deadLetters = 0
    func emit(_ forecast: Forecasting.ForecastMessage) throws { forecasts += 1 }
    func deadLetter(_ letter: DeadLetter) throws { deadLetters += 1 }
    func flush() throws {}
}

/// The model a benchmark runs: the given file, or a fresh network with default sizes (throughput
/// does not depend on the weights).
func benchModel(_ path: String?) throws -> MQModel {
    try path.map { try MQModel.load(from: $0) } ?? MQModel(network: MQNetwork(MQConfig(), seed: 1), period: .day, holidays: [], id: "bench")
}

/// The pipeline a bench serves `mq` in: its period, the history it reads, its horizons.
func benchConfig(_ mq: MQModel, partitions: Int) -> PipelineConfig {
    var config = PipelineConfig()
    config.windows = WindowConfig(period: mq.period, length: mq.historyNeeded, lateness: 0)
    config.horizons = mq.network.config.horizons
    config.partitions = partitions
    return config
}

/// One sale or page-view event as a replay line.
func eventLine(_ kind: EventKind, _ product: String, at time: Int64, _ quantity: Int) -> String {
    EventEncoder.json(Event(kind: kind, product: product, time: time, quantity: Double(quantity)))
}

/// Hands a non-Sendable object to the one thread that uses it from then on.
struct UncheckedBox<T>: @unchecked Sendable {
    let value: T
    init(_ value: T) { self.value = value }
}
