import Decisions
import Foundation
import Forecasting
import Pipeline
import Testing

/// Early refresh on a simulated log (page views lead demand, promotions are announced ahead):
/// provisional forecasts come out, at most one per product and period, each for the FCT its
/// period closes at; and the regular forecasts are exactly those of a run without early refresh
/// (provisional refreshes leave the state alone).
@Suite struct EarlyRefreshTests {
    @Test func provisionalForecastsLeaveRegularOnesUntouched() throws {
        let dir = Harness.temporaryDirectory()
        let log = dir.appendingPathComponent("log.jsonl").path
        #expect(try Harness.streamcast(["simulate", "--products", "40", "--periods", "50", "--seed", "9", "--out", log]).0 == 0)
        var pending = -1
        var recommendations: [Recommendation] = []
        func run(early: EarlyRefresh?) throws -> [ForecastMessage] {
            var config = PipelineConfig()
            config.forecaster = "empirical_quantiles"
            config.horizons = 7
            config.earlyRefresh = early
            let sink = CollectingSink()
            let processor = try StreamProcessor(config: config, sink: sink)
            try OfflineReplay.run(path: log, processor: processor)
            pending = processor.earlyRefreshesPending
            recommendations = sink.recommendations
            return sink.forecasts
        }
        var rule = EarlyRefresh()
        rule.minViews = 5
        rule.viewRatio = 1.5
        let plain = try run(early: nil)
        let plainRecommendations = recommendations
        let early = try run(early: rule)
        let provisional = early.filter(\.provisional), regular = early.filter { !$0.provisional }
        #expect(regular == plain)
        // Every forecast brings its order recommendation, the early ones marked provisional; the
        // regular ones are those of the run without early refresh.
        #expect(recommendations.filter { !$0.provisional } == plainRecommendations && !plainRecommendations.isEmpty)
        #expect(recommendations.filter(\.provisional).map { "\($0.product)@\($0.fct)" }
                == early.filter(\.provisional).map { "\($0.product)@\($0.fct)" })
        #expect(provisional.count > 20, "\(provisional.count) early refreshes")
        #expect(Set(provisional.map { "\($0.product)@\($0.fct)" }).count == provisional.count, "one per product and period")
        // Each is for the FCT its open period closes at: a regular forecast of that FCT follows
        // (unless the log ended first).
        let regularKeys = Set(regular.map { "\($0.product)@\($0.fct)" })
        let lastFCT = regular.map(\.fct).max() ?? 0
        for m in provisional where m.fct <= lastFCT {
            #expect(regularKeys.contains("\(m.product)@\(m.fct)"), "\(m.product) \(m.fct)")
        }
        // The one-per-period bookkeeping is pruned at each close: only the open period's remain.
        #expect(pending == provisional.filter { $0.fct > lastFCT }.count, "\(pending) pending")
        // A provisional forecast differs from the regular one it is superseded by (it saw less).
        let byKey = Dictionary(regular.map { ("\($0.product)@\($0.fct)", $0) }, uniquingKeysWith: { a, _ in a })
        #expect(provisional.contains { p in byKey["\(p.product)@\(p.fct)"].map { $0.targets.map(\.q) != p.targets.map(\.q) } ?? false })
    }
}
