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
        /// State restored from the changelog that the local file could not take yet: the next
        /// checkpoint stores it.
        public var unstored: CheckpointStore.Batch?
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
        var restoredInMemory = false
        var unstored: CheckpointStore.Batch?
        if let changelog {
            let local = try store.changelogPosition(p)
            let log = try readChangelog(p, topic: changelog.topic, localEnd: local?.end)
            read = log.records
            // A safe next sequence number when the log's own is unknown: each checkpoint writes at
            // least one record, so no sequence number exceeds the log's end offset.
            var seq = max(local?.seq ?? 0, log.range.high)
            var snapshot = true
            if let local, log.range.high > log.range.low, local.end == log.range.high {
                seq = local.seq
                snapshot = false
            } else if let r = log.reader?.result, log.failure == nil {
                unstored = try adopt(r, partition: p, end: log.range.high, into: processor)
                restoredInMemory = true
                source = .changelog
                seq = r.maxSeq
                snapshot = r.uncommittedTail > 0
            } else if let failure = log.failure {
                PipelineMetrics.changelogFailures().increment()
                logger.error("changelog partition cannot be read back; restoring from the local file", metadata: ["topic": "\(changelog.topic)", "partition": "\(p)", "error": "\(failure)"])
            } else if log.reader != nil {
                PipelineMetrics.changelogFailures().increment()
                logger.error("changelog holds no complete state of the partition (its newest snapshot is gone: retention shorter than about three snapshots of a partition?); restoring from the local file",
                             metadata: ["topic": "\(changelog.topic)", "partition": "\(p)", "first_offset": "\(log.range.low)", "end_offset": "\(log.range.high)"])
            }
            changelog.assigned(p, seq: seq, snapshot: snapshot)
        }
        if !restoredInMemory { try processor.restore(partition: p, from: store) }
        PipelineMetrics.stateRestores(source: source.rawValue).increment()
        let nanos = DispatchTime.now().uptimeNanoseconds - started
        PipelineMetrics.stateRestoreDuration().recordNanoseconds(Int64(nanos))
        let outcome = Outcome(source: source, products: processor.productCount(partition: p), changelogRecords: read, seconds: Double(nanos) / 1e9,
                              unstored: unstored)
        logger.info("partition restored", metadata: ["partition": "\(p)", "source": "\(source.rawValue)", "products": "\(outcome.products)",
                                                     "changelog_records": "\(read)", "seconds": "\(String(format: "%.3f", outcome.seconds))"])
        return outcome
    }

    /// One look at the changelog partition's range decides: the local file is current when the
    /// changelog ends where the file says (nothing is read); otherwise the log is read into a
    /// `ChangelogReader`. A failure other than Kafka's own is returned, not thrown: the local file
    /// then serves.
    func readChangelog(_ p: Int32, topic: String, localEnd: Int64?) throws
        -> (reader: ChangelogReader?, range: KafkaPartitionReader.Range, records: Int, failure: (any Error)?) {
        var reader: ChangelogReader?
        var range = KafkaPartitionReader.Range(low: 0, high: 0)
        var records = 0
        do {
            range = try KafkaPartitionReader.read(config: kafka, topic: topic, partition: p, if: { r in
                range = r  // known even when the read then fails
                guard localEnd != r.high else { return false }
                reader = ChangelogReader(partition: p, fromBeginning: r.low == 0)
                return true
            }) { m in
                records += 1
                try reader!.apply(key: m.key, value: m.value)
            }
        } catch let error as KafkaError {
            throw error
        } catch {
            return (reader, range, records, error)
        }
        return (reader, range, records, nil)
    }

    /// Takes the changelog's state of partition p: into the local file (in one transaction) and
    /// the processor. Returns the batch to store later when the file cannot be written now (the
    /// processor serves from the changelog's state; the next checkpoint stores it, under
    /// checkpoint.on_error as any checkpoint).
    func adopt(_ r: RestoredPartition, partition p: Int32, end: Int64, into processor: StreamProcessor) throws -> CheckpointStore.Batch? {
        let offsets = r.commit.offsets.map { CheckpointStore.StoredOffset(topic: $0.topic, partition: p, next: $0.next) }
        let position = CheckpointStore.ChangelogPosition(seq: r.maxSeq, end: end)
        var unstored: CheckpointStore.Batch?
        do {
            try store.replace(partition: p, state: r.commit.state, offsets: offsets, products: r.products, changelog: position)
        } catch let error as CheckpointError {
            logger.warning("partition restored from the changelog but not yet stored in the local file", metadata: ["partition": "\(p)", "error": "\(error)"])
            var batch = CheckpointStore.Batch()
            batch.offsets = offsets
            batch.partitions = [(p, r.commit.state)]
            batch.products = r.products
            batch.changelog = [p: position]
            unstored = batch
        }
        try processor.restore(partition: p, state: r.commit.state, rows: r.products, offsets: offsets)
        return unstored
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
