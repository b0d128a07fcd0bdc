import Foundation
import Testing

/// `streamcast backtest` on the bundled simulated sample, with its ground truth: the oracle (the
/// true quantiles) is reported and no forecaster beats it by more than sampling noise allows.
@Suite struct BacktestCLITests {
    @Test func backtestReportsMetricsAndTheOracle() throws {
        let (status, out) = try Harness.streamcast(["backtest", "--replay", "Replays/sample-daily.jsonl.gz",
                                                     "--truth", "Replays/sample-daily.truth.csv.gz", "--horizons", "7", "--json"])
        #expect(status == 0)
        let reports = try #require(try JSONSerialization.jsonObject(with: Data(out.utf8)) as? [[String: Any]])
        let names = reports.compactMap { $0["model"] as? String }
        #expect(names.contains("seasonal_naive-7") && names.contains("empirical_quantiles-28") && names.contains("oracle (true quantiles)"))
        let oracle = try #require(reports.first { ($0["model"] as? String)?.hasPrefix("oracle") == true })
        #expect((oracle["cells"] as? Int ?? 0) > 4000)  // zero-demand days count too
        for r in reports where (r["model"] as? String)?.hasPrefix("oracle") == false {
            let ratio = try #require(r["oracleRatio"] as? Double)
            #expect(ratio > 0.95, "\(r["model"] ?? ""): a forecaster cannot beat the true distribution by much")
            let coverage = try #require(r["coverage"] as? [Double])
            #expect(coverage.count == 3 && coverage == coverage.sorted())
        }
    }
}
