import Checkpoint
import Foundation
import Kafka
import Logging

/// Where a newly assigned partition's state comes from (Kafka Streams' restore step).
///
/// With a changelog topic: the local file when it is current — its recorded changelog end is the
/// changelog partition's end, so nobody wrote state since — otherwise the changelog, read from its
/// first retained record to its end and written into the local file in one transaction. Either
/// way the processor then loads the partition from the file, and consumption resumes at the input
/// offsets that state reflects. Without a changelog, the local file (or nothing).
public struct PartitionRestorer {
    public enum Source: String, Sendable { case local, changelog, empty }
    public struct Outcome: Sendable {
        public var source: Source
        public var products: Int
        public var changelogRecords: Int
        public var seconds: Double
    }

    let store: CheckpointStore
    let kafka: KafkaConfig
    let changelog: ChangelogWriter?
    let logger: Logger

    public init(store: CheckpointStore, kafka: KafkaConfig, changelog: ChangelogWriter?, logger: Logger) {
        self.store = store
        self.kafka = kafka
        self.changelog = changelog
        self.logger = logger
    }

    /// Restores partition `p` into the processor (and the local file, when it came from the changelog).
    @discardableResult
    public func restore(_ p: Int32, into processor: StreamProcessor) throws -> Outcome {
        let started = DispatchTime.now().uptimeNanoseconds
        var source: Source = (try store.partitionState(p)) == nil ? .empty : .local
        var read = 0
        if let changelog {
            let local = try store.changelogPosition(p)
            let range = try KafkaPartitionReader.range(config: kafka, topic: changelog.topic, partition: p)
            // A safe next sequence number when the log's own is unknown: each checkpoint writes at
            // least one record, so no sequence number exceeds the log's end offset.
            var seq = max(local?.seq ?? 0, range.high)
            var snapshot = true
            if let local, range.high > range.low, local.end == range.high {
                seq = local.seq
                snapshot = false
            } else if range.high > range.low {
                var reader = ChangelogReader(partition: p, fromBeginning: range.low == 0)
                do {
                    try KafkaPartitionReader.read(config: kafka, topic: changelog.topic, partition: p) { m in
                        read += 1
                        try reader.apply(key: m.key, value: m.value)
                    }
                    if let r = reader.result {
                        try store.replace(partition: p, state: r.commit.state,
                                          offsets: r.commit.offsets.map { .init(topic: $0.topic, partition: p, next: $0.next) },
                                          products: r.products, changelog: .init(seq: r.maxSeq, end: range.high))
                        source = .changelog
                        seq = r.maxSeq
                        snapshot = r.uncommittedTail > 0
                    } else {
                        PipelineMetrics.changelogFailures().increment()
                        logger.error("changelog holds no complete state of the partition (its newest snapshot is gone: retention shorter than about three snapshots of a partition?); restoring from the local file",
                                     metadata: ["topic": "\(changelog.topic)", "partition": "\(p)", "first_offset": "\(range.low)", "end_offset": "\(range.high)"])
                    }
                } catch let error as KafkaError {
                    throw error
                } catch {
                    PipelineMetrics.changelogFailures().increment()
                    logger.error("changelog partition cannot be read back; restoring from the local file", metadata: ["topic": "\(changelog.topic)", "partition": "\(p)", "error": "\(error)"])
                }
            }
            changelog.assigned(p, seq: seq, snapshot: snapshot)
        }
        try processor.restore(partition: p, from: store)
        PipelineMetrics.stateRestores(source: source.rawValue).increment()
        let nanos = DispatchTime.now().uptimeNanoseconds - started
        PipelineMetrics.stateRestoreDuration().recordNanoseconds(Int64(nanos))
        let outcome = Outcome(source: source, products: processor.productCount(partition: p), changelogRecords: read, seconds: Double(nanos) / 1e9)
        logger.info("partition restored", metadata: ["partition": "\(p)", "source": "\(source.rawValue)", "products": "\(outcome.products)",
                                                     "changelog_records": "\(read)", "seconds": "\(String(format: "%.3f", outcome.seconds))"])
        return outcome
    }

    /// Refuses a changelog topic that does not exist or has fewer partitions than the inputs (its
    /// partition p holds input partition p's state). A broker that does not answer is not an
    /// error here: the first assignment reads the changelog again.
    func checkChangelogTopic(partitions: Int) throws {
        guard let changelog else { return }
        let last = Int32(partitions - 1)
        do { _ = try KafkaPartitionReader.range(config: kafka, topic: changelog.topic, partition: last, timeoutMs: 5000) } catch let e as KafkaError where e.isUnknownTopicOrPartition {
            throw ChangelogTopicError(topic: changelog.topic, partitions: partitions, detail: "\(e)")
        } catch {
            logger.warning("cannot check the changelog topic now; it is read on assignment", metadata: ["topic": "\(changelog.topic)", "error": "\(error)"])
        }
    }
}

/// The changelog topic is missing or too small for the inputs' partitions.
public struct ChangelogTopicError: Error, CustomStringConvertible {
    public var topic: String
    public var partitions: Int
    public var detail: String
    public var description: String {
        "topics.changelog: topic \(topic) has no partition \(partitions - 1) (\(detail)); create it with \(partitions) partitions (as many as topics.partitions) and cleanup.policy=compact, or set topics.changelog = \"\" to keep state only in the local file"
    }
}
