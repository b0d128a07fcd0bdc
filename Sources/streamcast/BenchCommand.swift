import ArgumentParser
import Benchmarks
import Foundation

/// `streamcast bench`: the measurements behind docs/benchmarks.md (build with -c release). The
/// measurements live in the Benchmarks module; these commands read their options and print.
struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "bench", abstract: "Measure throughput and memory (use a release build).",
                                                    subcommands: [IngestBench.self, StateBench.self, RestoreBench.self, InferenceBench.self, RefreshBench.self, WhatIfBench.self, EarlyLatencyBench.self, SoakBench.self])

    /// Results to stdout, notes to stderr.
    static let output = BenchOutput(result: { say($0) }, note: { warn($0) })
}

struct IngestBench: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "ingest",
                                                    abstract: "Events/s of decoding, the offline pipeline and the Kafka path, against kcat's raw consume rate on the same broker.")
    @Option(help: "Simulated products.") var products = 1000
    @Option(help: "Simulated days.") var periods = 120
    @Option(help: "Partitions per topic on the embedded broker (it keeps ~5 MB per partition).") var partitions = 64
    @Flag(help: "Skip the Kafka part.") var offlineOnly = false
    @Option(help: "Rounds of the Kafka path and kcat, alternated on the same broker (the report gives each and the median ratio).") var rounds = 1

    func run() throws {
        guard rounds >= 1 else { throw ValidationError("--rounds must be at least 1") }
        var b = IngestBenchmark()
        (b.products, b.periods, b.partitions, b.offlineOnly, b.rounds) = (products, periods, partitions, offlineOnly, rounds)
        try b.run(BenchCommand.output)
    }
}

struct StateBench: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "state",
                                                    abstract: "Bytes of window state per product, in memory and in the checkpoint, at many products.")
    @Option(help: "Products.") var products = 100_000
    @Option(help: "Window length L (closed periods kept).") var length = 56

    func run() throws {
        var b = StateBenchmark()
        (b.products, b.length) = (products, length)
        try b.run(BenchCommand.output)
    }
}

struct RestoreBench: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "restore",
                                                    abstract: "State of N products to the changelog and back into an empty state file: MB, write and restore seconds.")
    @Option(help: "Products.") var products = 100_000
    @Option(help: "Partitions (the embedded broker keeps ~5 MB of each: keep products/partitions × ~1.2 KB × 3 below it).") var partitions = 64
    @Option(help: "Days of history (each closes every product's period once).") var days = 3
    @Option(help: "Model file (default: a fresh network with default sizes).") var model: String?

    func run() throws {
        var b = RestoreBenchmark()
        (b.products, b.partitions, b.days, b.model) = (products, partitions, days, model)
        try b.run(BenchCommand.output)
    }
}

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
        var b = InferenceBenchmark()
        (b.products, b.batch, b.model, b.threads, b.channels, b.decoder) = (products, batch, model, threads, channels, decoder)
        try b.run(BenchCommand.output)
    }
}

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
        if let empiricalBlend, empiricalBlend <= 0 { throw ValidationError("--empirical-blend must be > 0 (periods)") }
        var b = RefreshBenchmark()
        (b.products, b.partitions, b.days, b.model, b.monitoring, b.threads, b.empiricalBlend) =
            (products, partitions, days, model, !noMonitoring, threads, empiricalBlend)
        try b.run(BenchCommand.output)
    }
}

struct WhatIfBench: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "whatif",
                                                    abstract: "Time of a price what-if and of a price curve per product, from the state at the end of a replay.")
    @Option(help: "Replay file.") var replay = "Replays/sample-daily.jsonl.gz"
    @Option(help: "Products asked (the first N by id).") var products = 200
    @Option(help: "Prices on the curve.") var steps = 13
    @OptionGroup var options: PipelineOptions

    func run() throws {
        var options = options
        if options.model.isEmpty { options.model = ["Replays/sample-daily.safetensors"] }
        let processor = try WhatIfCommand.state(after: replay, settings: try options.settings())
        var b = WhatIfBenchmark()
        (b.products, b.steps) = (products, steps)
        try b.run(processor: processor, replay: replay, BenchCommand.output)
    }
}

struct EarlyLatencyBench: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "early-latency",
                                                    abstract: "Latency from a page-view surge to its early-refresh forecast on the forecasts topic (p50/p99).")
    @Option(help: "Products with history.") var products = 2000
    @Option(help: "Trigger events (one per product).") var triggers = 1000
    @Option(help: "Pause between triggers (ms).") var gapMs = 5.0
    @Option(help: "Model file (default: a fresh network with default sizes, daily).") var model: String?

    func run() throws {
        var b = EarlyLatencyBenchmark()
        (b.products, b.triggers, b.gapMs, b.model) = (products, triggers, gapMs, model)
        try b.run(BenchCommand.output)
    }
}

struct SoakBench: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "soak",
                                                    abstract: "Minutes of steady input through broker, service and consumer: resident memory (RSS) over time.")
    @Option(help: "Events per second.") var rate = 50_000
    @Option(help: "Minutes to run.") var minutes = 30.0
    @Option(help: "Minutes of warm-up excluded from the RSS band.") var warmup = 5.0
    @Option(help: "Products.") var products = 20_000
    @Option(help: "Wall seconds per simulated day (a period close refreshes every product).") var secondsPerDay = 60.0
    @Option(help: "Use this broker (e.g. `streamcast broker --partitions 8` in another process) instead of an embedded one, so the RSS is the service's alone.") var bootstrap: String?

    func run() throws {
        var b = SoakBenchmark()
        (b.rate, b.minutes, b.warmup, b.products, b.secondsPerDay, b.bootstrap) = (rate, minutes, warmup, products, secondsPerDay, bootstrap)
        try b.run(BenchCommand.output)
    }
}
