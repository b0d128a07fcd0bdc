import Checkpoint
@testable import Pipeline
import Testing

/// The changelog's records read back: what a restore sees from a whole log, from a log whose
/// beginning retention deleted, from a compacted log, and from a log with the records of a
/// checkpoint that never committed (its writer died mid-write).
@Suite struct ChangelogTests {
    typealias Row = CheckpointStore.ProductRow

    static func row(_ product: String, slot: Int, _ version: UInt8) -> Row {
        Row(partition: 3, slot: slot, product: product, window: [version, 1, 2], forecaster: [version])
    }

    static func commit(_ seq: Int64, products: Int, next: Int64) -> ChangelogRecord {
        .commit(ChangelogCommit(seq: seq, state: [UInt8(truncatingIfNeeded: seq)], offsets: [("sales", next), ("prices", next / 2)], products: products))
    }

    /// A writer's history: checkpoints 1–2 deltas, 3 a snapshot, 4 a delta.
    static var history: [ChangelogRecord] {
        [
            .snapshot(seq: 1), .product(seq: 1, row("A", slot: 0, 1)), commit(1, products: 1, next: 10),
            .product(seq: 2, row("B", slot: 1, 2)), .product(seq: 2, row("A", slot: 0, 2)), commit(2, products: 2, next: 20),
            .snapshot(seq: 3), .product(seq: 3, row("A", slot: 0, 3)), .product(seq: 3, row("B", slot: 1, 3)), commit(3, products: 2, next: 30),
            .product(seq: 4, row("C", slot: 2, 4)), commit(4, products: 3, next: 40),
        ]
    }

    static func read(_ records: [ChangelogRecord], fromBeginning: Bool = true) throws -> RestoredPartition? {
        var reader = ChangelogReader(partition: 3, fromBeginning: fromBeginning)
        for r in records { try reader.apply(key: r.key, value: r.value) }
        return reader.result
    }

    static func versions(_ r: RestoredPartition?) -> [String] { r?.products.map { "\($0.product)\($0.window[0])@\($0.slot)" } ?? [] }

    @Test func aWholeLogRestoresTheLastCommit() throws {
        let r = try #require(try Self.read(Self.history))
        #expect(Self.versions(r) == ["A3@0", "B3@1", "C4@2"])
        #expect(r.commit.seq == 4 && r.commit.offsets.map(\.next) == [40, 20] && r.commit.state == [4])
        #expect(r.maxSeq == 4 && r.uncommittedTail == 0)
        // Every record survives its encoding.
        #expect(r.products[0].forecaster == [3] && r.products[0].partition == 3)
    }

    @Test func aLogWhoseBeginningIsGoneRestoresFromItsNewestSnapshot() throws {
        // Retention removed everything before the second snapshot's start.
        let tail = Array(Self.history.drop(while: { if case .snapshot(let s) = $0 { return s != 3 }; return true }))
        #expect(Self.versions(try Self.read(tail, fromBeginning: false)) == ["A3@0", "B3@1", "C4@2"])
        // Retention cut into that snapshot: no complete state is left, and the reader says so.
        #expect(try Self.read(Array(tail.dropFirst(2)), fromBeginning: false) == nil)
        // Only deltas left: not a state.
        #expect(try Self.read(Array(Self.history.suffix(2)), fromBeginning: false) == nil)
    }

    @Test func aCompactedLogRestoresTheSameState() throws {
        // Compaction keeps the newest record of each key, in log order.
        let records = Self.history
        var newest: [String: Int] = [:]
        for (i, r) in records.enumerated() { newest[String(decoding: r.key, as: UTF8.self)] = i }
        let compacted = records.indices.filter { newest.values.contains($0) }.map { records[$0] }
        #expect(compacted.count == 5)
        let r = try #require(try Self.read(compacted))
        #expect(Self.versions(r) == ["A3@0", "B3@1", "C4@2"] && r.commit.seq == 4)
    }

    @Test func recordsOfACheckpointThatNeverCommittedAreNotApplied() throws {
        // The writer died after sending two products of checkpoint 5 and before its commit.
        var log = Self.history + [.product(seq: 5, Self.row("A", slot: 0, 5)), .product(seq: 5, Self.row("D", slot: 3, 5))]
        let r = try #require(try Self.read(log))
        #expect(Self.versions(r) == ["A3@0", "B3@1", "C4@2"] && r.uncommittedTail == 2 && r.maxSeq == 5)
        // The next owner restored checkpoint 4 and, seeing that tail, writes a snapshot above the
        // highest sequence number first: the dead writer's records never come back.
        log += [.snapshot(seq: 6), .product(seq: 6, Self.row("A", slot: 0, 6)), .product(seq: 6, Self.row("B", slot: 1, 6)),
                .product(seq: 6, Self.row("C", slot: 2, 6)), Self.commit(6, products: 3, next: 45)]
        #expect(Self.versions(try Self.read(log)) == ["A6@0", "B6@1", "C6@2"])
        // A snapshot that never committed leaves the state before it.
        let unfinished = Self.history + [.snapshot(seq: 5), .product(seq: 5, Self.row("A", slot: 0, 5))]
        let u = try #require(try Self.read(unfinished))
        #expect(Self.versions(u) == ["A3@0", "B3@1", "C4@2"] && u.uncommittedTail == 2)
    }

    @Test func aCommitThatDisagreesWithTheLogIsAnError() throws {
        let broken = Array(Self.history.prefix(3)) + [Self.commit(2, products: 5, next: 20)]
        #expect(throws: ChangelogReader.Failure.self) { try Self.read(broken) }
        var reader = ChangelogReader(partition: 3, fromBeginning: true)
        #expect(throws: (any Error).self) { try reader.apply(key: [65], value: [9, 9]) }
    }
}
