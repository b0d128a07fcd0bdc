import Checkpoint
import Kafka
import Windows

/// Writes each checkpoint's state changes to the changelog topic (see `ChangelogRecord`), before
/// the same changes are committed to the local file, so the changelog is never behind the file.
///
/// Per partition it decides between the changed products and a full snapshot: a snapshot when the
/// partition was taken over with records of an unfinished checkpoint in its log, when its log has
/// no state of this writer yet, and when the records since the last snapshot have outgrown it
/// (twice the snapshot, at least 64 KiB): so the log after the newest complete snapshot stays
/// within about three snapshots, and a changelog that keeps only its newest bytes (no compaction)
/// still holds a whole state.
public final class ChangelogWriter {
    let topic: String
    let producer: KafkaProducer

    private struct PartitionLog {
        var seq: Int64
        var needsSnapshot: Bool
        var snapshotBytes = 0
        var bytesSinceSnapshot = 0
        var lastOffsets: [CheckpointStore.StoredOffset] = []
    }
    private var logs: [Int32: PartitionLog] = [:]
    static let minimumDeltaBytes = 64 << 10

    public init(topic: String, producer: KafkaProducer) throws {
        self.topic = topic
        self.producer = producer
        try producer.trackDeliveredOffsets(topic: topic)
    }

    /// A partition was taken on: its log's sequence numbers end at `seq`; `snapshot` when the log
    /// does not yet hold this state whole and clean.
    public func assigned(_ p: Int32, seq: Int64, snapshot: Bool) {
        logs[p] = PartitionLog(seq: seq, needsSnapshot: snapshot)
    }

    func revoked(_ p: Int32) { logs[p] = nil }

    /// Produces the batch's changes (a snapshot reads the partition's every product from the
    /// processor); returns the partitions written. Their positions are known after the flush.
    public func write(_ batch: CheckpointStore.Batch, from processor: StreamProcessor) throws -> [Int32] {
        var changed: [Int32: [CheckpointStore.ProductRow]] = [:]
        for row in batch.products { changed[row.partition, default: []].append(row) }
        var written: [Int32] = []
        for (p, state) in batch.partitions {
            guard var log = logs[p] else { continue }
            let offsets = batch.offsets.filter { $0.partition == p }
            let snapshot = log.needsSnapshot || log.bytesSinceSnapshot - log.snapshotBytes >= max(log.snapshotBytes, Self.minimumDeltaBytes)
            guard snapshot || changed[p] != nil || offsets != log.lastOffsets else { continue }
            log.seq += 1
            let rows = snapshot ? processor.allRows(partition: p) : changed[p] ?? []
            var bytes = 0
            if snapshot { bytes += try send(p, .snapshot(seq: log.seq)) }
            for row in rows { bytes += try send(p, .product(seq: log.seq, row)) }
            bytes += try send(p, .commit(ChangelogCommit(seq: log.seq, state: state, offsets: offsets.map { ($0.topic, $0.next) },
                                                          products: processor.productCount(partition: p))))
            if snapshot {
                log.needsSnapshot = false
                log.snapshotBytes = bytes
                log.bytesSinceSnapshot = bytes
            } else {
                log.bytesSinceSnapshot += bytes
            }
            log.lastOffsets = offsets
            logs[p] = log
            written.append(p)
        }
        return written
    }

    /// After the flush: where each written partition's log now ends.
    func positions(_ written: [Int32]) -> [Int32: CheckpointStore.ChangelogPosition] {
        var out: [Int32: CheckpointStore.ChangelogPosition] = [:]
        for p in written {
            guard let log = logs[p], let end = producer.deliveredEnd(topic: topic, partition: p) else { continue }
            out[p] = .init(seq: log.seq, end: end)
        }
        return out
    }

    private func send(_ p: Int32, _ record: ChangelogRecord) throws -> Int {
        let key = record.key, value = record.value
        try producer.send(topic: topic, partition: p, key: key, value: value)
        return key.count + value.count
    }
}
