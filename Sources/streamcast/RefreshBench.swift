import ArgumentParser
import Events
import Forecasting
import Foundation
import Monitoring
import NeuralNet
import Pipeline
import Windows

/// Period-close refresh through the real processor: N products with history, then the first event
/// of the next day closes the period in each partition and every product of it is refreshed by
/// the neural model's batched path. Reports the refresh time per close (how long that one record
/// holds the consume loop: it must stay far below max.poll.interval.ms) and products/s.
struct RefreshBench: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "refresh",
                                                    abstract: "Time of one period close (every product refreshed) and products/s, baseline or neural model.")
    @Option(help: "Products.") var products = 100_000
    @Option(help: "Partitions (a close refreshes one partition's products).") var partitions = 8
    @Option(help: "Days of history before the measured close.") var days = 3
    @Option(help: "Model file (default: a fresh network with default sizes).") var model: String?
    @Flag(help: "Run without the drift monitor (to see its share of time and memory).") var noMonitoring = false
    @Option(help: "Threads the batch is split over.") var threads = min(4, ProcessInfo.processInfo.activeProcessorCount)
    @Option(help: "Serve with an empirical blend of this lookback W (λ = 0.5 for every quantile), to see its cost.") var empiricalBlend: Int?

    func run() throws {
        var mq = try benchModel(model)
        if let empiricalBlend {
            guard empiricalBlend > 0 else { throw ValidationError("--empirical-blend must be > 0 (periods)") }
            mq.empiricalBlend = EmpiricalBlend(lookback: empiricalBlend, weights: mq.network.config.quantiles.map { _ in 0.5 })
        }
        var config = benchConfig(mq, partitions: partitions)
        if noMonitoring { config.monitoring = nil }
        let sink = CountingSink()
        // As the service serves it: one network, or the quantile average of the model's networks.
        let forecaster: any Forecaster = mq.members.isEmpty ? MQForecaster(model: mq, threads: threads) : mq.forecaster()
        let processor = try StreamProcessor(config: config, sink: sink, forecaster: forecaster)
        let start = Int64(1_704_067_200_000)  // 2024-01-01
        var line = Int64(0)
        var closes: [(seconds: Double, forecasts: Int)] = []
        for d in 0...days {
            let measured = d == days
            for i in 0..<products {
                let text = #"{"type":"sale","product":"P\#(i)","ts":"\#(Timestamp.format(start + Int64(d) * mq.period.nominalMs + 1000))","units":\#(1 + (i + d) % 5)}"#
                let before = sink.forecasts
                let seconds = try time { _ = try Array(text.utf8).withUnsafeBytes { try processor.processReplayLine($0, lineNumber: line) } }
                line += 1
                if measured, sink.forecasts > before { closes.append((seconds, sink.forecasts - before)) }
            }
        }
        let total = closes.reduce(0) { $0 + $1.seconds }, refreshed = closes.reduce(0) { $0 + $1.forecasts }
        let stall = closes.map(\.seconds).max() ?? 0
        say(String(format: "refresh at one close: %d products in %d partitions, %.2f s in all = %.0f products/s; longest single close (consume loop held) %.2f s; %d network(s), model L=%d H=%d",
                   refreshed, closes.count, total, Double(refreshed) / max(total, 1e-9), stall, mq.networks.count,
                   mq.network.config.context, mq.network.config.horizons))
        if let monitor = processor.monitor {
            // The dashboard's query holds the monitor's lock, which the consume thread also takes.
            var top: [ForecastMonitor.ProductView] = []
            let seconds = time { top = monitor.topDrifting(50) }
            say(String(format: "dashboard top-50 drifting products over %d monitored: %.1f ms (monitor lock held)", products, seconds * 1000) + (top.isEmpty ? " (none scored yet)" : ""))
        }
    }
}
