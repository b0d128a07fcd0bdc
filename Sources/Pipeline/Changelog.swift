import Checkpoint
import Windows

/// The records of the state changelog topic, one changelog partition per partition number.
///
/// A checkpoint writes, per partition that changed, its changed products (keyed by product id)
/// and then a commit record (the partition's bookkeeping and the input offsets its state
/// reflects). From time to time — and whenever the log may hold records of a checkpoint that never
/// committed — it writes a full snapshot instead: a snapshot record, every product, a commit. A
/// reader applies product records only when their commit arrives, and from a snapshot's commit on
/// forgets what came before, so it restores exactly:
///   - from a log that was compacted (the latest record per key: every product, the latest
///     snapshot record and the latest commit record, in that order), and
///   - from a log whose beginning retention deleted, as long as the newest complete snapshot is
///     retained (the writer snapshots before the records after the last one outgrow it).
/// Each record carries the writer's sequence number; a commit applies the product records of its
/// own and earlier sequence numbers.
enum ChangelogRecord {
    case product(seq: Int64, CheckpointStore.ProductRow)
    case snapshot(seq: Int64)
    case commit(ChangelogCommit)

    static let version: UInt8 = 1
    /// Keys of the two non-product records (a product id is never empty, so never starts with NUL
    /// followed by these names in practice, and the kind byte in the value decides anyway).
    static let snapshotKey = Array("\u{0}snapshot".utf8)
    static let commitKey = Array("\u{0}commit".utf8)

    var key: [UInt8] {
        switch self {
        case .product(_, let row): return Array(row.product.utf8)
        case .snapshot: return Self.snapshotKey
        case .commit: return Self.commitKey
        }
    }

    var value: [UInt8] {
        var w = ByteWriter()
        w.u8(Self.version)
        switch self {
        case .product(let seq, let row):
            w.u8(UInt8(ascii: "P"))
            w.i64(seq)
            w.u32(UInt32(row.slot))
            w.u32(UInt32(row.window.count)); w.bytes(row.window)
            w.u32(UInt32(row.forecaster.count)); w.bytes(row.forecaster)
            w.u32(UInt32(row.monitor.count)); w.bytes(row.monitor)
        case .snapshot(let seq):
            w.u8(UInt8(ascii: "S"))
            w.i64(seq)
        case .commit(let c):
            w.u8(UInt8(ascii: "C"))
            w.i64(c.seq)
            w.u32(UInt32(c.state.count)); w.bytes(c.state)
            w.u16(UInt16(c.offsets.count))
            for o in c.offsets { w.string(o.topic); w.i64(o.next) }
            w.u32(UInt32(c.products))
        }
        return w.bytes
    }

    static func decode(partition: Int32, key: [UInt8]?, value: [UInt8]) throws -> ChangelogRecord {
        var r = ByteReader(value)
        guard try r.u8() == version else { throw CodecError.badVersion }
        let kind = try r.u8()
        let seq = try r.i64()
        switch kind {
        case UInt8(ascii: "P"):
            guard let key, !key.isEmpty else { throw CodecError.corrupt }
            let slot = Int(try r.u32())
            let window = Array(try r.take(Int(try r.u32())))
            let forecaster = Array(try r.take(Int(try r.u32())))
            let monitor = Array(try r.take(Int(try r.u32())))
            return .product(seq: seq, .init(partition: partition, slot: slot, product: String(decoding: key, as: UTF8.self),
                                            window: window, forecaster: forecaster, monitor: monitor))
        case UInt8(ascii: "S"):
            return .snapshot(seq: seq)
        case UInt8(ascii: "C"):
            let state = Array(try r.take(Int(try r.u32())))
            var offsets: [(topic: String, next: Int64)] = []
            for _ in 0..<Int(try r.u16()) { offsets.append((try r.string(), try r.i64())) }
            return .commit(ChangelogCommit(seq: seq, state: state, offsets: offsets, products: Int(try r.u32())))
        default:
            throw CodecError.corrupt
        }
    }
}

/// A checkpoint of one partition as the changelog records it.
struct ChangelogCommit {
    var seq: Int64
    /// The partition's bookkeeping (watermarks, closed-through period).
    var state: [UInt8]
    /// The next offset of each input topic's partition that the state reflects.
    var offsets: [(topic: String, next: Int64)]
    /// How many products the partition holds after this commit (a check on the restore).
    var products: Int
}

/// A partition's state as read back from its changelog partition.
struct RestoredPartition {
    var commit: ChangelogCommit
    var products: [CheckpointStore.ProductRow]
    /// The highest sequence number in the log (a writer continues above it).
    var maxSeq: Int64
    /// Product records after the last commit: a checkpoint that never completed.
    var uncommittedTail: Int
}

/// Reads a changelog partition's records in offset order and yields the newest committed state.
struct ChangelogReader {
    enum Failure: Error, CustomStringConvertible {
        case inconsistent(partition: Int32, expected: Int, found: Int)
        var description: String {
            switch self {
            case .inconsistent(let p, let expected, let found):
                return "changelog partition \(p): the last commit names \(expected) products, the log holds \(found)"
            }
        }
    }

    let partition: Int32
    /// True once the state is known from the start: the log begins at offset 0, or a snapshot
    /// committed.
    private var known: Bool
    private var products: [String: CheckpointStore.ProductRow] = [:]
    private var pending: [(seq: Int64, row: CheckpointStore.ProductRow)] = []
    private var snapshotStarted = false
    private var committed: ChangelogCommit?
    private var maxSeq: Int64 = 0

    /// `fromBeginning`: the first record read is the log's first ever (nothing was deleted).
    init(partition: Int32, fromBeginning: Bool) {
        self.partition = partition
        known = fromBeginning
    }

    mutating func apply(key: [UInt8]?, value: [UInt8]) throws {
        switch try ChangelogRecord.decode(partition: partition, key: key, value: value) {
        case .product(let seq, let row):
            maxSeq = max(maxSeq, seq)
            pending.append((seq, row))
        case .snapshot(let seq):
            // A snapshot replaces everything before it once its commit arrives; records pending
            // from before it belong to a checkpoint that never committed.
            maxSeq = max(maxSeq, seq)
            pending.removeAll()
            snapshotStarted = true
        case .commit(let c):
            maxSeq = max(maxSeq, c.seq)
            if snapshotStarted {
                products.removeAll()
                known = true
                snapshotStarted = false
            }
            for (seq, row) in pending where seq <= c.seq { products[row.product] = row }
            pending.removeAll()
            if known {
                guard products.count == c.products else { throw Failure.inconsistent(partition: partition, expected: c.products, found: products.count) }
                committed = c
            }
        }
    }

    /// The newest committed state, or nil when the log held none that is complete.
    var result: RestoredPartition? {
        guard let committed else { return nil }
        return RestoredPartition(commit: committed, products: products.values.sorted { $0.slot < $1.slot },
                                 maxSeq: maxSeq, uncommittedTail: pending.count + (snapshotStarted ? 1 : 0))
    }
}
