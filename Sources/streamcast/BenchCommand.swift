import ArgumentParser
import Events
import Forecasting
import Foundation
import Kafka
import Logging
import NeuralNet
import Pipeline
import Simulation
import Windows

/// `streamcast bench`: the measurements behind docs/benchmarks.md (build with -c release).
struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "bench", abstract: "Measure throughput and memory (use a release build).",
                                                    subcommands: [IngestBench.self, StateBench.self, RestoreBench.self, InferenceBench.self, RefreshBench.self, WhatIfBench.self, EarlyLatencyBench.self, SoakBench.self])
}

/// Events/s of decoding, of the offline pipeline, of the Kafka path with checkpoints, and kcat's raw
/// consume rate of the same topics on the same broker, in one run.
struct IngestBench: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "ingest",
                                                    abstract: "Events/s of decoding, the offline pipeline and the Kafka path, against kcat's raw consume rate on the same broker.")
    @Option(help: "Simulated products.") var products = 1000
    @Option(help: "Simulated days.") var periods = 120
    @Option(help: "Partitions per topic on the embedded broker (it keeps ~5 MB per partition).") var partitions = 64
    @Flag(help: "Skip the Kafka part.") var offlineOnly = false

    func run() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("streamcast-bench-\(getpid())")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let log = dir.appendingPathComponent("log.jsonl").path
        var sim = SimulationConfig()
        sim.products = products
        sim.periods = periods
        let writer = try LineWriter(path: log)
        let events = Simulator.generate(sim, write: { writer.write($0) })
        writer.close()
        let bytes = (try FileManager.default.attributesOfItem(atPath: log)[.size] as? Int) ?? 0
        say("log: \(events) events, \(products) products, \(periods) days, \(bytes / 1_000_000) MB")

        // 1. Decode + validate only.
        let decoder = EventDecoder()
        var ok = 0
        let decodeSeconds = try time { try ReplayReader(path: log).forEachLine { line, _ in if case .success = decoder.decode(line) { ok += 1 } } }
        report("decode+validate", events, decodeSeconds)

        // 2a. Parse + window: decode, route to the partition, ingest, close periods (no forecasts).
        let windowConfig = WindowConfig(period: .day, length: 56, lateness: 6 * 3_600_000)
        var windows = (0..<partitions).map { PartitionWindows(partition: Int32($0), config: windowConfig) }
        let inputs = ["sales", "page-views", "prices"]
        let windowSeconds = try time {
            try ReplayReader(path: log).forEachLine { line, _ in
                guard case .success(let e) = decoder.decode(line) else { return }
                let p = Int(Partitioner.partition(product: e.product, partitions: partitions))
                _ = windows[p].ingest(e, input: inputs[Int(e.kind.rawValue)])
                while windows[p].closeNext({ _, _ in }) != nil {}
            }
        }
        report("parse + window (decode, partition, ingest, close; no forecasts)", events, windowSeconds)

        // 2b. The offline pipeline: both passes, windows, closes, forecasts (to a counting sink).
        var settings = try PipelineOptions.parse([]).settings()
        settings.pipeline.partitions = partitions
        let sink = CountingSink()
        let processor = try StreamProcessor(config: settings.pipeline, sink: sink)
        let offlineSeconds = try time { try OfflineReplay.run(path: log, processor: processor) }
        report("offline pipeline (route pass + process pass, \(sink.forecasts) forecasts)", events, offlineSeconds)
        guard !offlineOnly else { return }

        // 3. Kafka path through the service with checkpoints, and 4. kcat on the same broker.
        let broker = try startBroker(port: 0, partitions: partitions, topics: settings.pipeline.topics)
        settings.kafka["bootstrap.servers"] = broker.bootstrapServers
        let published = try publish(file: log, settings: settings, bootstrap: broker.bootstrapServers, speed: nil, progress: false)
        let state = dir.appendingPathComponent("state.sqlite").path
        let service = try KafkaService(config: settings.pipeline, kafka: settings.kafkaConfig(bootstrap: nil), statePath: state,
                                       groupID: "bench", logger: Logger(label: "bench"))
        var first: Date?
        var last = Date()
        var seen = 0
        try service.run {
            let n = service.stats.events
            if first == nil && n > 0 { first = Date() }
            if n != seen { seen = n; last = Date() }
            // Done when everything arrived, or nothing new for 5 s (the embedded broker drops the
            // oldest messages of a partition past ~5 MB: then fewer than published arrive).
            return n >= published || (n > 0 && Date().timeIntervalSince(last) > 5)
        }
        if seen < published { warn("only \(seen) of \(published) events arrived (embedded broker retention); use more --partitions") }
        report("kafka path (service, checkpoints every \(settings.pipeline.checkpointEvents) events/\(settings.pipeline.checkpointSeconds) s)",
               seen, last.timeIntervalSince(first ?? last))
        var consumed = 0
        let kcatSeconds = try time {
            for topic in settings.pipeline.topics.inputs {
                let p = Process()
                p.executableURL = URL(fileURLWithPath: "/usr/bin/kcat")
                p.arguments = ["-C", "-b", broker.bootstrapServers, "-t", topic, "-o", "beginning", "-e", "-q", "-f", "%s\n"]
                let out = dir.appendingPathComponent("kcat-\(topic).out")
                _ = FileManager.default.createFile(atPath: out.path, contents: nil)
                p.standardOutput = try FileHandle(forWritingTo: out)
                try p.run()
                p.waitUntilExit()
                consumed += try String(contentsOf: out, encoding: .utf8).utf8.reduce(0) { $0 + ($1 == 10 ? 1 : 0) }
            }
        }
        report("kcat raw consume of the same topics", consumed, kcatSeconds)
    }

    func report(_ what: String, _ n: Int, _ seconds: Double) {
        let label = what.count < 100 ? what + String(repeating: " ", count: 100 - what.count) : what
        say(label + String(format: "%10.0f events/s  (%d in %.2f s)", Double(n) / seconds, n, seconds))
    }
}

/// Bytes of window state per product in memory and in the checkpoint, at many products.
struct StateBench: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "state",
                                                    abstract: "Bytes of window state per product, in memory and in the checkpoint, at many products.")
    @Option(help: "Products.") var products = 100_000
    @Option(help: "Window length L (closed periods kept).") var length = 56

    func run() throws {
        let before = memoryKB()
        let config = WindowConfig(period: .day, length: length, lateness: 0)
        var w = PartitionWindows(partition: 0, config: config)
        let start = Timestamp.parse("2024-01-01T00:00:00Z")!
        let day: Int64 = 86_400_000
        for i in 0..<products {
            _ = w.ingest(Event(kind: .price, product: String(format: "P%08d", i), time: start + 1, quantity: 9.99, category: "C\(i % 50)"), input: "prices")
            _ = w.ingest(Event(kind: .sale, product: String(format: "P%08d", i), time: start + 2, quantity: 2), input: "sales")
        }
        // Advance the clock one day at a time so every product fills its whole ring.
        for d in 1...Int64(length + 1) {
            _ = w.ingest(Event(kind: .sale, product: "P00000000", time: start + d * day + 1, quantity: 1), input: "sales")
            _ = w.ingest(Event(kind: .price, product: "P00000000", time: start + d * day + 1, quantity: 9.99), input: "prices")
            while w.closeNext({ _, _ in }) != nil {}
        }
        let after = memoryKB()
        _ = w.takeDirtySlots()
        var encoded = 0
        for p in w.products { encoded += WindowCodec.encode(p).count }
        say(String(format: "%d products, L=%d: %.0f bytes/product in memory (RSS delta), %.0f bytes/product encoded in the checkpoint, peak RSS %.0f MB",
                   products, length, Double(after.rss - before.rss) * 1024 / Double(products), Double(encoded) / Double(products),
                   Double(after.peak) / 1024))
    }

    func memoryKB() -> (rss: Int, peak: Int) {
        let status = (try? String(contentsOfFile: "/proc/self/status", encoding: .utf8)) ?? ""
        func field(_ name: String) -> Int {
            status.split(separator: "\n").first { $0.hasPrefix(name) }.flatMap { Int($0.split(separator: " ").dropFirst().first { !$0.isEmpty } ?? "") } ?? 0
        }
        return (field("VmRSS:"), field("VmHWM:"))
    }
}

func time(_ body: () throws -> Void) rethrows -> Double {
    let t0 = DispatchTime.now().uptimeNanoseconds
    try body()
    return Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9
}

/// Counts what the pipeline emits without writing it anywhere.
final class CountingSink: PipelineSink {
    var forecasts = 0
    var deadLetters = 0
    func emit(_ forecast: Forecasting.ForecastMessage) throws { forecasts += 1 }
    func deadLetter(_ letter: DeadLetter) throws { deadLetters += 1 }
    func flush() throws {}
}

/// Batched refresh throughput of the neural forecaster (random weights: throughput does not depend
/// on them) and the GFLOP/s its matrix products reach, against single-core sgemm measured in the
/// same run.
struct InferenceBench: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "inference",
                                                    abstract: "Forecasts/s of the neural model's batched forward pass and the GFLOP/s it reaches against single-core sgemm.")
    @Option(help: "Products to refresh.") var products = 20_000
    @Option(help: "Products per forward pass.") var batch = 1024
    @Option(help: "Model file (default: a fresh network with default sizes).") var model: String?
    @Option(help: "Threads the batch is split over.") var threads = min(4, ProcessInfo.processInfo.activeProcessorCount)
    @Option(help: "Encoder channels C of a fresh network (ignored with --model).") var channels: Int?
    @Option(help: "Decoder width d of a fresh network (ignored with --model).") var decoder: Int?

    func run() throws {
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
        var out = Matrix(rows: n, cols: n)
        GEMMStatistics.start()
        let peakSeconds = time { for _ in 0..<5 { gemm(a, b, into: &out) } }
        let peak = GEMMStatistics.stop().flops / peakSeconds / 1e9
        let achieved = modelFlops / seconds / 1e9
        say(String(format: "refresh: %d products in %.2f s = %.0f forecasts/s (batch %d, L=%d, H=%d, C=%d, d=%d); model arithmetic %.2f GFLOP/s = %.0f %% of sgemm peak %.1f GFLOP/s",
                   windows.count, seconds, Double(windows.count) / seconds, batch, c.context, c.horizons, c.channels, c.decoder,
                   achieved, 100 * achieved / peak, peak))
        if threads == 1 {
            say(String(format: "  time inside cblas_sgemm %.2f s = %.0f %% of the refresh; the rest is features, im2col, attention loops, activations, copies",
                       blasSeconds, 100 * blasSeconds / seconds))
        }
    }
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
