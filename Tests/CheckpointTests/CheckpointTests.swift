import Checkpoint
import Foundation
import Pipeline
import Simulation
import Testing

func temporaryPath(_ name: String) -> String {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("streamcast-tests-\(getpid())")
    try? FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    return dir.appendingPathComponent("\(UUID().uuidString)-\(name)").path
}

/// Simulated log lines (small).
func simulatedLines(products: Int = 30, periods: Int = 40, seed: UInt64 = 5) -> [String] {
    var c = SimulationConfig()
    c.products = products
    c.periods = periods
    c.seed = seed
    var lines: [String] = []
    Simulator.generate(c, write: { lines.append(String(decoding: $0, as: UTF8.self)) })
    return lines
}

func config() -> PipelineConfig {
    var c = PipelineConfig()
    c.horizons = 7
    c.windows.length = 21
    return c
}

@Suite struct CheckpointTests {
    @Test func storeCommitsStateAndOffsetsTogether() throws {
        let path = temporaryPath("store.sqlite")
        let store = try CheckpointStore(path: path)
        try store.bind(fingerprint: "a")
        var batch = CheckpointStore.Batch()
        batch.offsets = [.init(topic: "sales", partition: 1, next: 42)]
        batch.partitions = [(1, [1, 2, 3])]
        batch.products = [.init(partition: 1, slot: 0, product: "P", window: [9], forecaster: [])]
        try store.commit(batch)
        let reopened = try CheckpointStore(path: path)
        #expect(try reopened.offsets() == [.init(topic: "sales", partition: 1, next: 42)])
        #expect(try reopened.partitionState(1) == [1, 2, 3])
        #expect(try reopened.products(partition: 1).map(\.window) == [[9]])
        #expect(throws: CheckpointError.self) { try reopened.bind(fingerprint: "b") }
    }

    /// A restart with a forecaster whose per-product state means something else (another error
    /// memory) clears those states, keeps the windows and offsets, and says what it was.
    @Test func anotherForecasterStateLayoutClearsTheStatesOnly() throws {
        let path = temporaryPath("layout.sqlite")
        let store = try CheckpointStore(path: path)
        #expect(try store.bind(forecasterState: "error-memory R=4 H=4 medians") == nil)
        var batch = CheckpointStore.Batch()
        batch.offsets = [.init(topic: "sales", partition: 0, next: 7)]
        batch.products = [.init(partition: 0, slot: 0, product: "P", window: [9], forecaster: [1, 2, 3])]
        try store.commit(batch)
        // The same layout again: nothing changes.
        #expect(try CheckpointStore(path: path).bind(forecasterState: "error-memory R=4 H=4 medians") == nil)
        #expect(try CheckpointStore(path: path).products(partition: 0).map(\.forecaster) == [[1, 2, 3]])
        let reopened = try CheckpointStore(path: path)
        #expect(try reopened.bind(forecasterState: "error-memory R=4 H=4 quantiles=3") == "error-memory R=4 H=4 medians")
        #expect(try reopened.products(partition: 0).map(\.forecaster) == [[]])
        #expect(try reopened.products(partition: 0).map(\.window) == [[9]])
        #expect(try reopened.offsets() == [.init(topic: "sales", partition: 0, next: 7)])
        #expect(try CheckpointStore(path: path).bind(forecasterState: "error-memory R=4 H=4 quantiles=3") == nil)
    }

    /// A failed batch merged with the next: the next one's rows win, rows only the failed one has
    /// survive (they would otherwise be lost: the processor hands out each dirty product once).
    @Test func failedBatchMergedIntoTheNextKeepsEveryChangedProduct() throws {
        var failed = CheckpointStore.Batch()
        failed.offsets = [.init(topic: "sales", partition: 0, next: 10), .init(topic: "sales", partition: 1, next: 7)]
        failed.partitions = [(0, [1]), (1, [2])]
        failed.products = [.init(partition: 0, slot: 0, product: "A", window: [1], forecaster: []),
                           .init(partition: 1, slot: 0, product: "B", window: [2], forecaster: [])]
        var next = CheckpointStore.Batch()
        next.offsets = [.init(topic: "sales", partition: 0, next: 20)]
        next.partitions = [(0, [3])]
        next.products = [.init(partition: 0, slot: 0, product: "A", window: [3], forecaster: []),
                         .init(partition: 0, slot: 1, product: "C", window: [4], forecaster: [])]
        let merged = failed.merging(next)
        #expect(Set(merged.offsets) == [.init(topic: "sales", partition: 0, next: 20), .init(topic: "sales", partition: 1, next: 7)])
        #expect(Dictionary(uniqueKeysWithValues: merged.partitions.map { ($0.partition, $0.state) }) == [0: [3], 1: [2]])
        let rows = Dictionary(uniqueKeysWithValues: merged.products.map { ("\($0.partition)/\($0.product)", $0.window) })
        #expect(rows == ["0/A": [3], "1/B": [2], "0/C": [4]])
        // Committed, then read back, the merge is what the file holds.
        let store = try CheckpointStore(path: temporaryPath("merge.sqlite"))
        try store.commit(merged)
        try store.reopen()
        #expect(try store.products(partition: 0).map(\.window) == [[3], [4]])
    }

    /// Stop anywhere, checkpoint, restore into a fresh processor, continue: the forecasts equal an
    /// uninterrupted run's (the in-process half of the crash guarantee; the kill -9 half is end to end).
    @Test(arguments: [0.13, 0.5, 0.91]) func restoredProcessorContinuesExactly(_ cut: Double) throws {
        let lines = simulatedLines()
        let whole = CollectingSink()
        let p = try StreamProcessor(config: config(), sink: whole)
        for (i, l) in lines.enumerated() { try process(p, l, i) }

        let path = temporaryPath("cut.sqlite")
        let first = CollectingSink()
        let a = try StreamProcessor(config: config(), sink: first)
        let split = Int(Double(lines.count) * cut)
        for (i, l) in lines[..<split].enumerated() { try process(a, l, i) }
        let store = try CheckpointStore(path: path)
        try store.commit(a.checkpointBatch())

        let second = CollectingSink()
        let b = try StreamProcessor(config: config(), sink: second)
        let restoredStore = try CheckpointStore(path: path)
        for p in 0..<Int32(config().partitions) { try b.restore(partition: p, from: restoredStore) }
        for (i, l) in lines[split...].enumerated() { try process(b, l, split + i) }

        #expect(first.forecasts + second.forecasts == whole.forecasts)
        #expect(whole.forecasts.count > 500)
    }

    func process(_ p: StreamProcessor, _ line: String, _ i: Int) throws {
        var line = line
        _ = try line.withUTF8 { try p.processReplayLine(UnsafeRawBufferPointer($0), lineNumber: Int64(i)) }
    }
}
