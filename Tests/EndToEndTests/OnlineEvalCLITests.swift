import Foundation
import Testing

/// `streamcast online-eval` on a simulated log where a third of the products double their level:
/// the recalibrated baseline's coverage of the shifted products returns closer to nominal than the
/// raw baseline's, and the report names what it measured.
@Suite struct OnlineEvalCLITests {
    @Test func recalibrationPullsCoverageBackAfterAShift() throws {
        let dir = Harness.temporaryDirectory()
        let log = dir.appendingPathComponent("drift.jsonl.gz").path
        let (simulated, _) = try Harness.streamcast(["simulate", "--products", "40", "--periods", "60", "--period", "week", "--seed", "4",
                                                     "--drift", "level:0.34@30x2.0", "--out", log])
        #expect(simulated == 0)
        let (status, out) = try Harness.streamcast(["online-eval", "--replay", log, "--drift", dir.appendingPathComponent("drift.drift.jsonl").path,
                                                    "--forecasters", "empirical_quantiles,empirical_quantiles+aci", "--recalibration-step", "0.2",
                                                    "--period", "week", "--horizons", "4", "--json"])
        #expect(status == 0, "\(out)")
        let reports = try #require(try JSONSerialization.jsonObject(with: Data(out.utf8)) as? [[String: Any]])
        #expect(reports.count == 2)
        /// Σ_q |coverage_q − q|: of the shifted products over the 12 FCTs from the shift, and of all.
        func miscalibration(_ r: [String: Any]) throws -> (shifted: Double, all: Double) {
            let shift = try #require(r["shiftPeriod"] as? Int)
            let curve = try #require(r["curve"] as? [[String: Any]]).filter { ($0["fct"] as? Int ?? 0) >= shift && ($0["fct"] as? Int ?? 0) < shift + 12 }
            #expect(curve.count == 12)
            let nominal = [0.1, 0.5, 0.9]
            let shifted = nominal.indices.map { j in
                abs(curve.map { ($0["coverage"] as? [Double] ?? [])[j] }.reduce(0, +) / Double(curve.count) - nominal[j])
            }.reduce(0, +)
            let overall = try #require((r["overall"] as? [String: Any])?["coverage"] as? [Double])
            return (shifted, zip(overall, nominal).map { abs($0 - $1) }.reduce(0, +))
        }
        let raw = try #require(reports.first { $0["model"] as? String == "empirical_quantiles-28" })
        let recalibrated = try #require(reports.first { $0["model"] as? String == "empirical_quantiles-28+aci" })
        #expect((raw["products"] as? Int ?? 0) > 10)
        let before = try miscalibration(raw), after = try miscalibration(recalibrated)
        #expect(after.shifted < before.shifted * 0.85, "shifted products: recalibrated \(after.shifted) vs raw \(before.shifted)")
        #expect(after.all < before.all * 0.85, "all products: recalibrated \(after.all) vs raw \(before.all)")
        // The reported coverage error is the mean |mid coverage − q| over FCTs shift … shift + 8 of the
        // curve, and recalibration lowers it too.
        func coverageError(_ r: [String: Any]) throws -> Double {
            let shift = try #require(r["shiftPeriod"] as? Int)
            let curve = try #require(r["curve"] as? [[String: Any]]).filter { (shift...(shift + 8)).contains($0["fct"] as? Int ?? -1) }
            let errors = curve.flatMap { p in zip(p["midCoverage"] as? [Double] ?? [], [0.1, 0.5, 0.9]).map { abs($0 - $1) } }
            #expect(errors.count == 27)
            return errors.reduce(0, +) / Double(errors.count)
        }
        for r in [raw, recalibrated] {
            let reported = try #require(r["coverageErrorAfterShift"] as? Double)
            #expect(abs(try coverageError(r) - reported) < 1e-9)
        }
        #expect(try #require(recalibrated["coverageErrorAfterShift"] as? Double) < (try #require(raw["coverageErrorAfterShift"] as? Double)))
    }
}
