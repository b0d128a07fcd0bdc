import Events
import Forecasting
import Foundation
import Monitoring
import NeuralNet
import Pipeline
import Simulation
import Windows

/// Batched refresh throughput of the neural forecaster (random weights: throughput does not depend
/// on them) and the GFLOP/s its matrix products reach, against single-core sgemm measured in the
/// same run.
public struct InferenceBenchmark {
    public var products = 20_000
    /// Products per forward pass.
    public var batch = 1024
    /// Model file (nil: a fresh network with default sizes, or `channels` and `decoder`).
    public var model: String?
    public var threads = min(4, ProcessInfo.processInfo.activeProcessorCount)
    public var channels: Int?
    public var decoder: Int?
    public init() {}

    public func run(_ out: BenchOutput) throws {
        var sizes = MQConfig()
        if let channels { sizes.channels = channels }
        if let decoder { sizes.decoder = decoder }
        let mq = try model.map { try MQModel.load(from: $0) } ?? MQModel(network: MQNetwork(sizes, seed: 1), period: .day, holidays: [], id: "bench")
        let c = mq.network.config
        // Windows with a full context of history.
        var w = PartitionWindows(partition: 0, config: WindowConfig(period: .day, length: c.context, lateness: 0))
        let start = Timestamp.parse("2024-01-01T00:00:00Z")!
        var rng = SplitMix64(seed: 3)
        for d in 0...c.context {
            for i in 0..<products {
                _ = w.ingest(Event(kind: .sale, product: "P\(i)", time: start + Int64(d) * 86_400_000 + 1, quantity: Double(rng.poisson(3))), input: "sales")
            }
            while w.closeNext({ _, _ in }) != nil {}
        }
        let windows = w.products
        let forecaster = MQForecaster(model: mq, threads: threads)
        var states = [[UInt8]](repeating: [], count: windows.count)
        GEMMStatistics.start(timing: threads == 1)  // the clock is read per call: one thread only
        let seconds = time {
            for from in stride(from: 0, to: windows.count, by: batch) {
                let to = min(from + batch, windows.count)
                var chunk = Array(states[from..<to])
                _ = forecaster.forecastBatch(Array(windows[from..<to]), horizons: c.horizons, quantiles: c.quantiles, states: &chunk)
                states.replaceSubrange(from..<to, with: chunk)
            }
        }
        let (modelFlops, blasSeconds) = GEMMStatistics.stop()
        // Single-core sgemm peak in the same run (OPENBLAS_NUM_THREADS=1 for a one-core figure).
        let n = 1024
        let a = Matrix(rows: n, cols: n, data: (0..<(n * n)).map { Float($0 % 7) }), b = a
        var product = Matrix(rows: n, cols: n)
        GEMMStatistics.start()
        let peakSeconds = time { for _ in 0..<5 { gemm(a, b, into: &product) } }
        let peak = GEMMStatistics.stop().flops / peakSeconds / 1e9
        let achieved = modelFlops / seconds / 1e9
        out.result(String(format: "refresh: %d products in %.2f s = %.0f forecasts/s (batch %d, L=%d, H=%d, C=%d, d=%d); model arithmetic %.2f GFLOP/s = %.0f %% of sgemm peak %.1f GFLOP/s",
                          windows.count, seconds, Double(windows.count) / seconds, batch, c.context, c.horizons, c.channels, c.decoder,
                          achieved, 100 * achieved / peak, peak))
        if threads == 1 {
            out.result(String(format: "  time inside cblas_sgemm %.2f s = %.0f %% of the refresh; the rest is features, im2col, attention loops, activations, copies",
                              blasSeconds, 100 * blasSeconds / seconds))
        }
    }
}

/// Period-close refresh through the real processor: N products with history, then the first event
/// of the next day closes the period in each partition and every product of it is refreshed by
/// the neural model's batched path. Reports the refresh time per close (how long that one record
/// holds the consume loop: it must stay far below max.poll.interval.ms) and products/s.
public struct RefreshBenchmark {
    public var products = 100_000
    /// Partitions (a close refreshes one partition's products).
    public var partitions = 8
    /// Days of history before the measured close.
    public var days = 3
    public var model: String?
    public var monitoring = true
    public var threads = min(4, ProcessInfo.processInfo.activeProcessorCount)
    /// Serve with an empirical blend of this lookback (λ = 0.5 for every quantile), to see its cost.
    public var empiricalBlend: Int?
    public init() {}

    public func run(_ out: BenchOutput) throws {
        var mq = try benchModel(model)
        if let empiricalBlend {
            mq.empiricalBlend = EmpiricalBlend(lookback: empiricalBlend, weights: mq.network.config.quantiles.map { _ in 0.5 })
        }
        var config = benchConfig(mq, partitions: partitions)
        if !monitoring { config.monitoring = nil }
        let sink = CountingSink()
        // As the service serves it: one network, or the quantile average of the model's networks, and its trees.
        let forecaster: any Forecaster = mq.members.isEmpty && mq.trees == nil ? MQForecaster(model: mq, threads: threads) : mq.forecaster()
        let processor = try StreamProcessor(config: config, sink: sink, forecaster: forecaster)
        let start = Int64(1_704_067_200_000)  // 2024-01-01
        var line = Int64(0)
        var closes: [(seconds: Double, forecasts: Int)] = []
        for d in 0...days {
            let measured = d == days
            for i in 0..<products {
                let text = eventLine(.sale, "P\(i)", at: start + Int64(d) * mq.period.nominalMs + 1000, 1 + (i + d) % 5)
                let before = sink.forecasts
                let seconds = try time { _ = try Array(text.utf8).withUnsafeBytes { try processor.processReplayLine($0, lineNumber: line) } }
                line += 1
                if measured, sink.forecasts > before { closes.append((seconds, sink.forecasts - before)) }
            }
        }
        let total = closes.reduce(0) { $0 + $1.seconds }, refreshed = closes.reduce(0) { $0 + $1.forecasts }
        let stall = closes.map(\.seconds).max() ?? 0
        out.result(String(format: "refresh at one close: %d products in %d partitions, %.2f s in all = %.0f products/s; longest single close (consume loop held) %.2f s; %d network(s), model L=%d H=%d",
                          refreshed, closes.count, total, Double(refreshed) / max(total, 1e-9), stall, mq.networks.count,
                          mq.network.config.context, mq.network.config.horizons))
        if let monitor = processor.monitor {
            // The dashboard's query holds the monitor's lock, which the consume thread also takes.
            var top: [ForecastMonitor.ProductView] = []
            let seconds = time { top = monitor.topDrifting(50) }
            out.result(String(format: "dashboard top-50 drifting products over %d monitored: %.1f ms (monitor lock held)", products, seconds * 1000) + (top.isEmpty ? " (none scored yet)" : ""))
        }
    }
}

/// Price what-ifs from live state: given a processor that has read a log (as `streamcast whatif`
/// leaves it), times `whatIf` per product — one planned price, and a price curve — on the thread
/// that would answer it in the service (between two polls).
public struct WhatIfBenchmark {
    /// Products asked (the first N by id).
    public var products = 200
    /// Prices on the curve.
    public var steps = 13
    public init() {}

    public func run(processor: StreamProcessor, replay: String, _ out: BenchOutput) throws {
        let pipeline = processor.config
        let ids = try Backtest.actuals(path: replay, period: pipeline.windows.period).keys.sorted().prefix(products)
        var one: [Double] = [], curve: [Double] = []
        for id in ids {
            guard let now = processor.whatIf(product: id, plans: []), now.price > 0 else { continue }
            one.append(time { _ = processor.whatIf(product: id, plans: [PricePlan.factor(0.85)]) })
            let plans = (0..<steps).map { PricePlan(price: now.price * (0.7 + 0.6 * Double($0) / Double(max(steps - 1, 1)))) }
            curve.append(time { _ = processor.whatIf(product: id, plans: plans) })
        }
        func summary(_ t: [Double]) -> String {
            let s = t.sorted()
            guard !s.isEmpty else { return "no products" }
            return String(format: "median %.2f ms, p99 %.2f ms, max %.2f ms", 1000 * s[s.count / 2], 1000 * s[min(s.count - 1, s.count * 99 / 100)], 1000 * s.last!)
        }
        out.result("what-if over \(one.count) products, model \(processor.forecaster.id), H=\(pipeline.horizons)")
        out.result("one planned price (+ the current): " + summary(one))
        out.result("price curve of \(steps) prices (+ the current): " + summary(curve))
    }
}
