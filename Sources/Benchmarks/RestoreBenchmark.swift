import Checkpoint
import Forecasting
import Foundation
import Kafka
import Logging
import Pipeline

/// A partition's state moving to another instance, measured: N products' state (windows, the
/// neural model's error memory, the drift monitor's product state) written to the changelog topic
/// of an in-process embedded broker as one snapshot per partition, then restored into an EMPTY
/// state file and processor by the service's own restore path; the restored rows are checked byte
/// for byte.
public struct RestoreBenchmark {
    public var products = 100_000
    /// Partitions (the embedded broker keeps ~5 MB of each: keep products/partitions × ~1.2 KB × 3 below it).
    public var partitions = 64
    /// Days of history (each closes every product's period once).
    public var days = 3
    public var model: String?
    public init() {}

    public func run(_ out: BenchOutput) throws {
        let mq = try benchModel(model)
        let config = benchConfig(mq, partitions: partitions)  // the drift monitor on, as the service runs
        let source = try StreamProcessor(config: config, sink: CountingSink(), forecaster: mq.forecaster())
        let start = Int64(1_704_067_200_000)  // 2024-01-01
        var line = Int64(0)
        for d in 0...days {
            for i in 0..<products {
                let text = eventLine(.sale, "P\(i)", at: start + Int64(d) * mq.period.nominalMs + 1000, 1 + (i + d) % 5)
                _ = try Array(text.utf8).withUnsafeBytes { try source.processReplayLine($0, lineNumber: line) }
                line += 1
            }
        }
        let broker = try EmbeddedBroker(port: 0)
        let topic = "streamcast-changelog"
        try broker.createTopic(topic, partitions: partitions)
        let kafka = KafkaConfig(bootstrapServers: broker.bootstrapServers)
        let producer = try KafkaProducer(config: kafka)
        let writer = try ChangelogWriter(topic: topic, producer: producer)
        for p in 0..<Int32(partitions) { writer.assigned(p, seq: 0, snapshot: true) }
        let batch = source.checkpointBatch()
        var bytes = 0
        let writeSeconds = try time {
            _ = try writer.write(batch, from: source)
            try producer.flush()
        }
        for p in 0..<Int32(partitions) {
            bytes += source.allRows(partition: p).reduce(0) { $0 + $1.window.count + $1.forecaster.count + $1.monitor.count + $1.product.utf8.count }
        }

        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("streamcast-restore-\(getpid())")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let store = try CheckpointStore(path: dir.appendingPathComponent("empty.sqlite").path)
        let target = try StreamProcessor(config: config, sink: CountingSink(), forecaster: mq.forecaster())
        var logger = Logger(label: "streamcast.bench")
        logger.logLevel = .warning
        let restorer = PartitionRestorer(store: store, kafka: kafka, changelog: try ChangelogWriter(topic: topic, producer: producer), logger: logger)
        var outcomes: [PartitionRestorer.Outcome] = []
        let restoreSeconds = try time {
            for p in 0..<Int32(partitions) { outcomes.append(try restorer.restore(p, into: target)) }
        }
        var same = true
        for p in 0..<Int32(partitions) {
            let a = source.allRows(partition: p), b = target.allRows(partition: p)
            same = same && a.count == b.count && zip(a, b).allSatisfy {
                $0.product == $1.product && $0.window == $1.window && $0.forecaster == $1.forecaster && $0.monitor == $1.monitor
            }
        }
        producer.close()  // before the broker goes away
        withExtendedLifetime(broker) {}
        let restored = outcomes.reduce(0) { $0 + $1.products }
        guard same, restored == products, outcomes.allSatisfy({ $0.source == .changelog }) else {
            throw BenchmarkError("restored state differs from the written one (\(restored) of \(products) products)")
        }
        out.result(String(format: "changelog: %d products in %d partitions, %.1f MB of state (%.0f bytes/product); snapshot written and acknowledged in %.2f s (%.0f MB/s); restored into an empty state file in %.2f s (%.2f s per 100k products), identical",
                          products, partitions, Double(bytes) / 1e6, Double(bytes) / Double(products), writeSeconds, Double(bytes) / 1e6 / writeSeconds,
                          restoreSeconds, restoreSeconds * 100_000 / Double(products)))
    }
}
