import Checkpoint
import Forecasting
import Foundation
@testable import Pipeline
import NeuralNet
import Testing
import Windows

/// The processor on its own, fed replay lines: where events go, when periods close, early
/// refreshes, and a partition's state leaving (unload) and coming back (restore) as one value.
@Suite struct StreamProcessorTests {
    /// As the streamcast process does at its start (BLAS.useOneThread says why).
    init() { BLAS.useOneThread() }

    static func sale(_ product: String, _ day: Int, units: Int = 1) -> String {
        #"{"type":"sale","product":"\#(product)","ts":"2024-03-\#(String(format: "%02d", day))T10:00:00Z","units":\#(units)}"#
    }
    static func views(_ product: String, _ day: Int, _ n: Int, hour: Int = 9) -> String {
        #"{"type":"page_view","product":"\#(product)","ts":"2024-03-\#(String(format: "%02d", day))T\#(String(format: "%02d", hour)):00:00Z","views":\#(n)}"#
    }

    static func config(earlyRefresh: Bool = false) -> PipelineConfig {
        var c = PipelineConfig()
        c.horizons = 3
        c.windows.length = 14
        c.partitions = 2
        c.monitoring = nil
        if earlyRefresh { c.earlyRefresh = EarlyRefresh() }
        return c
    }

    @discardableResult
    static func feed(_ p: StreamProcessor, _ lines: [String], from first: Int64 = 0) throws -> [(input: String, partition: Int32)?] {
        try lines.enumerated().map { i, line in
            try Array(line.utf8).withUnsafeBytes { try p.processReplayLine($0, lineNumber: first + Int64(i)) }
        }
    }

    @Test func routesByKindAndProductAndRejectsWithAReason() throws {
        let sink = CollectingSink()
        let p = try StreamProcessor(config: Self.config(), sink: sink)
        let routes = try Self.feed(p, [Self.sale("A", 1), Self.views("A", 1, 3), "{not json", Self.sale("B", 1, units: 2)])
        let a = Partitioner.partition(product: "A", partitions: 2), b = Partitioner.partition(product: "B", partitions: 2)
        #expect(routes[0]! == ("sales", a) && routes[1]! == ("page-views", a) && routes[3]! == ("sales", b))
        #expect(routes[2] == nil)
        #expect(sink.deadLetters.count == 1 && sink.deadLetters[0].offset == 2 && !sink.deadLetters[0].reason.isEmpty)
        #expect(p.stats.events == 4 && p.stats.accepted == 3)
        #expect(p.positions["sales"]?[b] == 4, "the next line to read after the last one processed")
    }

    /// A period closes once every input that has spoken has passed it; each closed period gives
    /// every product of the partition one forecast, in product order.
    @Test func periodsCloseWhenEveryInputHasPassed() throws {
        let sink = CollectingSink()
        let p = try StreamProcessor(config: Self.config(), sink: sink)
        // Products on one partition: find two.
        let names = (0..<50).map { "P\($0)" }.filter { Partitioner.partition(product: $0, partitions: 2) == 0 }
        let (x, y) = (names[0], names[1])
        try Self.feed(p, [Self.sale(y, 1), Self.sale(x, 1), Self.views(x, 1, 5)])
        #expect(sink.forecasts.isEmpty)
        try Self.feed(p, [Self.sale(x, 3)], from: 3)  // sales has passed day 1 (+ lateness); page views has not
        #expect(sink.forecasts.isEmpty, "page views still hold the clock")
        try Self.feed(p, [Self.views(x, 3, 1)], from: 4)
        #expect(sink.forecasts.map(\.product) == [x, y, x, y], "days 1 and 2 closed, products in order")
        #expect(Set(sink.forecasts.map { $0.fct }).count == 2)
        try Self.feed(p, [Self.sale(y, 4)], from: 5)
        try p.inputCaughtUp("sales", partition: 0)
        try p.inputCaughtUp("page-views", partition: 0)
        #expect(sink.forecasts.count == 6, "every input caught up: the clock is the newest event (day 4), so day 3 closes")
    }

    /// A page-view surge refreshes a product once in its open period (a provisional message); the
    /// close supersedes it and forgets the mark.
    @Test func earlyRefreshOncePerOpenPeriod() throws {
        let sink = CollectingSink()
        let p = try StreamProcessor(config: Self.config(earlyRefresh: true), sink: sink)
        // Days 1–4, then day 5 begins on both inputs: day 4 closes, day 5 is the open period.
        try Self.feed(p, (1...4).flatMap { [Self.sale("A", $0), Self.views("A", $0, 2)] } + [Self.sale("A", 5), Self.views("A", 5, 1, hour: 7)])
        let regular = sink.forecasts.count
        #expect(regular == 4 && !sink.forecasts.contains { $0.provisional })
        try Self.feed(p, [Self.views("A", 5, 40, hour: 9), Self.views("A", 5, 40, hour: 11)], from: 10)
        #expect(sink.forecasts.count == regular + 1 && sink.forecasts.last!.provisional)
        #expect(p.earlyRefreshesPending == 1 && p.stats.earlyRefreshes == 1)
        try Self.feed(p, [Self.sale("A", 7), Self.views("A", 7, 1)], from: 12)
        #expect(p.earlyRefreshesPending == 0, "day 5 closed: the mark is gone")
    }

    /// A partition's windows and forecaster states leave together (unload) and come back together
    /// (restore), with its offsets; the other partition is untouched.
    @Test func unloadAndRestoreMoveAPartitionWhole() throws {
        let model = try MQModel.load(from: "Replays/sample-daily.safetensors")
        var c = Self.config()
        c.horizons = model.network.config.horizons
        c.windows.length = 56
        let p = try StreamProcessor(config: c, sink: CollectingSink(), forecaster: model.forecaster())
        try Self.feed(p, (1...9).flatMap { d in ["A", "B", "C", "D"].map { Self.sale($0, d, units: d % 3 + 1) } })
        for input in ["sales"] { for part in Int32(0)..<2 { try p.inputCaughtUp(input, partition: part) } }
        let store = try CheckpointStore(path: FileManager.default.temporaryDirectory.appendingPathComponent("\(UUID().uuidString).sqlite").path)
        try store.commit(p.checkpointBatch())
        let before = try #require(p.partitions[0])
        #expect(before.windows.products.count > 0)
        #expect((0..<before.windows.products.count).contains { !before.forecasterState(slot: $0).isEmpty }, "the error memory is per-product state")
        let otherBefore = p.partitions[1]?.windows.products.map(\.product)
        p.unload(partition: 0)
        #expect(p.partitions[0] == nil && p.positions["sales"]?[0] == nil)
        #expect(p.partitions[1]?.windows.products.map(\.product) == otherBefore)
        try p.restore(partition: 0, from: store)
        let after = try #require(p.partitions[0])
        #expect(after.windows.products.map(\.product) == before.windows.products.map(\.product))
        #expect(after.windows.products == before.windows.products)
        #expect((0..<after.windows.products.count).allSatisfy { after.forecasterState(slot: $0) == before.forecasterState(slot: $0) })
        #expect(p.positions["sales"]?[0] != nil)
    }
}
