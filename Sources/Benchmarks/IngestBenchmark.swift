import Events
import Foundation
import Kafka
import Logging
import Pipeline
import Simulation
import Windows

/// Events/s of decoding, of the offline pipeline, of the Kafka path with checkpoints, and kcat's raw
/// consume rate of the same topics on the same broker, in one run.
public struct IngestBenchmark {
    public var products = 1000
    public var periods = 120
    /// Partitions per topic on the embedded broker (it keeps ~5 MB per partition).
    public var partitions = 64
    public var offlineOnly = false
    /// Rounds of the Kafka path and kcat, alternated: this VM's rates drift by ±25 % between
    /// runs, so one pair says little about their ratio.
    public var rounds = 1
    public init() {}

    public func run(_ out: BenchOutput) throws {
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
        out.result("log: \(events) events, \(products) products, \(periods) days, \(bytes / 1_000_000) MB")
        var config = PipelineConfig()
        config.partitions = partitions
        try offline(log, events: events, config: config, out)
        if !offlineOnly { try kafka(log, config: config, dir: dir, out) }
    }

    /// 1. Decode only; 2a. parse + window (no forecasts); 2b. the whole offline pipeline.
    func offline(_ log: String, events: Int, config: PipelineConfig, _ out: BenchOutput) throws {
        let decoder = EventDecoder()
        var ok = 0
        let decodeSeconds = try time { try ReplayReader(path: log).forEachLine { line, _ in if case .success = decoder.decode(line) { ok += 1 } } }
        report("decode+validate", events, decodeSeconds, out)

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
        report("parse + window (decode, partition, ingest, close; no forecasts)", events, windowSeconds, out)

        let sink = CountingSink()
        let processor = try StreamProcessor(config: config, sink: sink)
        let offlineSeconds = try time { try OfflineReplay.run(path: log, processor: processor) }
        report("offline pipeline (route pass + process pass, \(sink.forecasts) forecasts)", events, offlineSeconds, out)
    }

    /// 3. The Kafka path through the service with checkpoints, and 4. kcat on the same broker,
    /// `rounds` times, each round on a broker of its own (the service would otherwise restore the
    /// last round's state, offsets included, from the changelog topic and have nothing to read).
    func kafka(_ log: String, config: PipelineConfig, dir: URL, _ out: BenchOutput) throws {
        var ratios: [Double] = []
        for round in 1...rounds {
            let broker = try EmbeddedBroker.start(port: 0, partitions: partitions, topics: config.topics)
            let kafka = KafkaConfig(bootstrapServers: broker.bootstrapServers)
            let published = try ReplayPublisher.publish(file: log, kafka: kafka, topics: config.topics, partitions: partitions)
            let service = try servicePath(kafka, config: config, state: dir.appendingPathComponent("state-\(round).sqlite").path,
                                          group: "bench", published: published, out)
            let kcat = try kcatConsume(broker.bootstrapServers, topics: config.topics.inputs, dir: dir, out)
            ratios.append(service / kcat)
            if rounds > 1 { out.result(String(format: "round %d: kafka path / kcat = %.2f", round, service / kcat)) }
        }
        if rounds > 1 { out.result(String(format: "median kafka path / kcat over %d rounds: %.2f", rounds, ratios.sorted()[rounds / 2])) }
    }

    /// The service from the start of the topics until every event arrived; events/s from its
    /// first event to its last (the group join before it is not counted).
    func servicePath(_ kafka: KafkaConfig, config: PipelineConfig, state: String, group: String, published: Int, _ out: BenchOutput) throws -> Double {
        let service = try KafkaService(config: config, kafka: kafka, statePath: state, groupID: group, logger: Logger(label: "bench"))
        var first: Date?
        var last = Date()
        var seen = 0
        try service.run {
            let n = service.stats.events
            if first == nil && n > 0 { first = Date() }
            if n != seen { seen = n; last = Date() }
            // Done when everything arrived, or nothing new for 5 s (the embedded broker drops the
            // oldest messages of a partition past ~5 MB: then fewer than published arrive).
            return n >= published || (n > 0 && Date().timeIntervalSince(last) > 5) || (n == 0 && Date().timeIntervalSince(last) > 60)
        }
        guard seen > 0 else { throw BenchmarkError("the service read nothing in 60 s") }
        if seen < published { out.note("only \(seen) of \(published) events arrived (embedded broker retention); use more partitions") }
        let seconds = last.timeIntervalSince(first ?? last)
        report("kafka path (service, checkpoints every \(config.checkpointEvents) events/\(config.checkpointSeconds) s)", seen, seconds, out)
        return Double(seen) / seconds
    }

    /// kcat reading every input topic from the beginning to its end, one topic after another.
    func kcatConsume(_ bootstrap: String, topics: [String], dir: URL, _ out: BenchOutput) throws -> Double {
        var consumed = 0
        let kcatSeconds = try time {
            for topic in topics {
                let p = Process()
                p.executableURL = URL(fileURLWithPath: "/usr/bin/kcat")
                p.arguments = ["-C", "-b", bootstrap, "-t", topic, "-o", "beginning", "-e", "-q", "-f", "%s\n"]
                let file = dir.appendingPathComponent("kcat-\(topic).out")
                _ = FileManager.default.createFile(atPath: file.path, contents: nil)
                p.standardOutput = try FileHandle(forWritingTo: file)
                try p.run()
                p.waitUntilExit()
                consumed += try String(contentsOf: file, encoding: .utf8).utf8.reduce(0) { $0 + ($1 == 10 ? 1 : 0) }
            }
        }
        report("kcat raw consume of the same topics", consumed, kcatSeconds, out)
        return Double(consumed) / kcatSeconds
    }

    func report(_ what: String, _ n: Int, _ seconds: Double, _ out: BenchOutput) {
        let label = what.count < 100 ? what + String(repeating: " ", count: 100 - what.count) : what
        out.result(label + String(format: "%10.0f events/s  (%d in %.2f s)", Double(n) / seconds, n, seconds))
    }
}

/// Bytes of window state per product in memory and in the checkpoint, at many products.
public struct StateBenchmark {
    public var products = 100_000
    /// Window length L (closed periods kept).
    public var length = 56
    public init() {}

    public func run(_ out: BenchOutput) throws {
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
        out.result(String(format: "%d products, L=%d: %.0f bytes/product in memory (RSS delta), %.0f bytes/product encoded in the checkpoint, peak RSS %.0f MB",
                          products, length, Double(after.rss - before.rss) * 1024 / Double(products), Double(encoded) / Double(products),
                          Double(after.peak) / 1024))
    }
}
