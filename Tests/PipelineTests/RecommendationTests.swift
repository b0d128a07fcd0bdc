import Decisions
import Events
import Foundation
@testable import Pipeline
import Testing
@testable import Windows

/// Recommendations from the processor: one per forecast at the product's own price, with an
/// order quantity once an inventory snapshot taken before the FCT is known; a snapshot that
/// arrives after its period closed is a late dead letter; without an inventory topic, inventory
/// events are refused as they would be on another kind's topic; windows keep their snapshots
/// through the codec (and older windows still decode).
@Suite struct RecommendationTests {
    static func price(_ product: String, _ day: Int, _ price: Double) -> String {
        #"{"type":"price","product":"\#(product)","ts":"2024-03-\#(String(format: "%02d", day))T08:00:00Z","price":\#(price)}"#
    }
    static func stock(_ product: String, _ day: Int, hour: Int = 20, onHand: Double, onOrder: Double = 0) -> String {
        #"{"type":"inventory","product":"\#(product)","ts":"2024-03-\#(String(format: "%02d", day))T\#(hour):00:00Z","on_hand":\#(onHand),"on_order":\#(onOrder)}"#
    }

    static func config(inventory: Bool) -> PipelineConfig {
        var c = StreamProcessorTests.config()
        c.partitions = 1
        c.topics.mixed = "events"  // one topic: closes do not wait for quiet inputs
        if inventory { c.topics.inventory = "inventory" }
        c.decisions = DecisionsConfig()
        return c
    }

    @Test func ordersAgainstTheSnapshotBeforeTheFCT() throws {
        let sink = CollectingSink()
        let p = try StreamProcessor(config: Self.config(inventory: true), sink: sink)
        var lines = [Self.price("A", 1, 10)]
        for day in 1...9 { lines.append(StreamProcessorTests.sale("A", day, units: 3 + day % 3)) }
        lines.insert(Self.stock("A", 7, onHand: 4, onOrder: 2), at: 8)
        lines.append(Self.stock("A", 9, hour: 23, onHand: 1))  // after day 8's FCT, before day 9 closes
        lines.append(StreamProcessorTests.sale("A", 11))        // closes day 9 (lateness a quarter day)
        try StreamProcessorTests.feed(p, lines)
        #expect(sink.deadLetters.isEmpty, "\(sink.deadLetters.map(\.detail))")
        #expect(sink.recommendations.count == sink.forecasts.count && sink.forecasts.count >= 8)
        let byDay = Dictionary(sink.recommendations.map { (Period.day.index(of: $0.fct) - Period.day.index(of: Timestamp.parse("2024-03-01T00:00:00Z")!) + 1, $0) }) { a, _ in a }
        #expect(byDay[6]?.inventoryPosition == nil, "no snapshot before day 7")
        #expect(byDay[7]?.inventoryPosition == 6 && byDay[8]?.inventoryPosition == 6)
        #expect(byDay[9]?.inventoryPosition == 1)
        let r = try #require(byDay[9])
        #expect(r.order == r.orderUpTo - 1 && r.costs.price == 10 && abs(r.costs.unitCost - 7) < 1e-9)
        let json = String(decoding: r.jsonBytes, as: UTF8.self)
        #expect(json.contains(#""inventory_position":1,"order":\#(r.orderUpTo - 1)}"#), "\(json)")
        // A snapshot for a closed period is late.
        try StreamProcessorTests.feed(p, [Self.stock("A", 5, onHand: 3)], from: 100)
        #expect(sink.deadLetters.map(\.reason) == ["late"])
    }

    @Test func inventoryWithoutItsTopicIsRefusedAsOnKafka() throws {
        var c = Self.config(inventory: false)
        c.topics.mixed = nil
        let sink = CollectingSink()
        let p = try StreamProcessor(config: c, sink: sink)
        try StreamProcessorTests.feed(p, [Self.stock("A", 1, onHand: 3)])
        #expect(sink.deadLetters.map(\.reason) == ["type_mismatch"] && sink.deadLetters[0].detail.contains("inventory event on the price topic"))
        // And a bad snapshot is a dead letter with its reason.
        let q = try StreamProcessor(config: Self.config(inventory: true), sink: sink)
        try StreamProcessorTests.feed(q, [#"{"type":"inventory","product":"A","ts":"2024-03-01T00:00:00Z","on_order":2}"#])
        #expect(sink.deadLetters.last?.reason == "bad_inventory")
    }

    /// A product's own policy from the costs input applies from the first FCT after it, key by key
    /// over the defaults; a policy that does not check is a dead letter with the key named.
    @Test func costsEventsSetAProductsOwnPolicy() throws {
        let sink = CollectingSink()
        var c = Self.config(inventory: false)
        c.topics.costs = "costs"
        let p = try StreamProcessor(config: c, sink: sink)
        var lines = [Self.price("A", 1, 10)]
        for day in 1...8 { lines.append(StreamProcessorTests.sale("A", day, units: 4)) }
        lines.insert(#"{"type":"costs","product":"A","ts":"2024-03-05T12:00:00Z","unit_cost":6,"lead_time":2,"shortage":"backorders","backorder_cost":1}"#, at: 5)
        lines.append(#"{"type":"costs","product":"A","ts":"2024-03-06T12:00:00Z","lead_time":"soon"}"#)
        lines.append(#"{"type":"costs","product":"A","ts":"2024-03-06T12:00:00Z","lead_time":5}"#)
        lines.append(StreamProcessorTests.sale("A", 10))
        try StreamProcessorTests.feed(p, lines)
        #expect(sink.deadLetters.map(\.reason) == ["bad_costs", "bad_costs"])
        #expect(sink.deadLetters[0].detail.contains("lead_time") && sink.deadLetters[1].detail.contains("beyond the forecast's 3"))
        let day = { (r: Recommendation) in Period.day.index(of: r.fct) - Period.day.index(of: Timestamp.parse("2024-03-01T00:00:00Z")!) + 1 }
        let before = try #require(sink.recommendations.first { day($0) == 4 }), after = try #require(sink.recommendations.first { day($0) == 5 })
        #expect(before.policy.leadTime == 1 && before.costs.unitCost == 7 && before.policy.shortage == .lostSales)
        #expect(after.policy.leadTime == 2 && after.costs.unitCost == 6 && after.policy.shortage == .backorders && after.costs.shortage == 1)
        #expect(after.demand.mean > before.demand.mean, "three periods covered instead of two")
    }

    @Test func windowsKeepTheirSnapshotsThroughTheCodec() throws {
        var w = ProductWindow(product: "A", category: nil, firstPeriod: 10, length: 4)
        w.addStock(StockSnapshot(time: 5, onHand: 2, onOrder: 1))
        w.addStock(StockSnapshot(time: 3, onHand: 7, onOrder: 0))
        w.addPolicy(PolicySnapshot(time: 4, keys: ["lead_time": "2", "shortage": "backorders"]))
        #expect(w.policy(before: 5)?["lead_time"] == "2" && w.policy(before: 4) == nil)
        #expect(w.stock.map(\.time) == [3, 5] && w.stock(before: 5)?.onHand == 7)
        let bytes = WindowCodec.encode(w)
        #expect(try WindowCodec.decode(bytes) == w)
        // A version-1 window (no snapshots) still decodes.
        var old = WindowCodec.encode(ProductWindow(product: "B", category: "c", firstPeriod: 1, length: 4))
        old[0] = 1
        old.removeLast(2)
        #expect(try WindowCodec.decode(old).product == "B")
    }
}
