import Foundation
import Testing

/// Order recommendations and price what-ifs from the command line, with a (quickly) trained model
/// on a simulated log: `whatif` answers a price cut with more demand and a curve whose units fall
/// as the price rises; `backtest --costs` plays every forecaster's orders and the oracle's.
@Suite struct DecisionsCLITests {
    @Test func whatIfAndTheMoneyBacktest() throws {
        let (dir, log, model, _) = try PriceResponseCLITests.simulatedAndTrained(["--networks", "1", "--quantiles", "0.1,0.5,0.9,0.98"])
        let config = dir.appendingPathComponent("q.toml").path
        try "[forecast]\nquantiles = [0.1, 0.5, 0.9, 0.98]\n[decisions]\nlead_time = 2\n".write(toFile: config, atomically: true, encoding: .utf8)

        // What-if: a 20 % cut from the next period on, for good.
        let (s0, now) = try Harness.streamcast(["whatif", "--replay", log, "--model", model, "--config", config, "--product", "P00003", "--price", "1"])
        #expect(s0 == 0, "\(now)")
        let price = try #require((try JSONSerialization.jsonObject(with: Data(now.utf8)) as? [String: Any])?["price"] as? Double, "\(now.prefix(300))")
        let (s1, out) = try Harness.streamcast(["whatif", "--replay", log, "--model", model, "--config", config, "--product", "P00003",
                                                "--price", "\(price * 0.8)"])
        #expect(s1 == 0)
        let answer = try #require(try JSONSerialization.jsonObject(with: Data(out.utf8)) as? [String: Any])
        func medians(_ scenario: [String: Any]) -> [Double] {
            ((scenario["forecast"] as? [String: Any])?["targets"] as? [[String: Any]] ?? []).map { ($0["q"] as! [Double])[1] }
        }
        let current = try #require(answer["current"] as? [String: Any]), cut = try #require((answer["planned"] as? [[String: Any]])?.first)
        #expect(medians(current).count == 14 && zip(medians(cut), medians(current)).allSatisfy { $0 >= $1 }, "a cut never lowers the median")
        #expect((cut["expected_units"] as! Double) > (current["expected_units"] as! Double))
        let rec = try #require(cut["recommendation"] as? [String: Any])
        #expect((rec["demand"] as? [String: Any])?["periods"] as? Int == 3 && (rec["order_up_to"] as? Int ?? -1) >= 0)

        let (s2, curve) = try Harness.streamcast(["whatif", "--replay", log, "--model", model, "--config", config, "--product", "P00003", "--curve", "0.5:1.5:6"])
        #expect(s2 == 0)
        let units = curve.split(separator: "\n").filter { $0.hasPrefix("price") }.compactMap { line in
            line.split(separator: " ").compactMap { Double($0) }.dropFirst().first
        }
        #expect(units.count == 6 && zip(units, units.dropFirst()).allSatisfy { $0 >= $1 }, "units fall as the price rises: \(curve)")

        // The money backtest: every forecaster and both oracle rows, costs that add up.
        let costs = dir.appendingPathComponent("costs.toml").path
        try "[decisions]\nlead_time = 1\nreview_period = 2\n".write(toFile: costs, atomically: true, encoding: .utf8)
        let (s3, bt) = try Harness.streamcast(["backtest", "--replay", log, "--model", model, "--fcts", "12",
                                               "--truth", dir.appendingPathComponent("log.truth.csv.gz").path, "--costs", costs, "--json"])
        #expect(s3 == 0, "\(bt.suffix(500))")
        let report = try #require(try JSONSerialization.jsonObject(with: Data(bt.utf8)) as? [String: Any])
        let rows = try #require(report["costs"] as? [[String: Any]])
        #expect(rows.map { $0["model"] as! String }.filter { $0.hasPrefix("oracle") }.count == 2)
        #expect(rows.count == 5, "two baselines, the model and two oracle rows: \(rows.map { $0["model"]! })")
        for row in rows {
            let o = try #require(row["outcome"] as? [String: Any])
            let total = row["totalCost"] as! Double, holding = o["holdingCost"] as! Double, shortage = o["shortageCost"] as! Double
            #expect(total > 0 && abs(total - holding - shortage) < 1e-6 * total)
            #expect(o["periods"] as? Int == 40 * 12, "40 products, reviews every 2 of 12 FCTs cover 12 periods each")
            #expect((row["fillRate"] as! Double) > 0.5 && (row["fillRate"] as! Double) <= 1)
        }
        let oracle = rows.last!["totalCost"] as! Double
        #expect(rows.dropLast().allSatisfy { ($0["totalCost"] as! Double) >= oracle * 0.8 }, "nothing beats the true distribution by much")

        // A policy the horizons cannot cover is refused.
        try "[decisions]\nlead_time = 20\n".write(toFile: costs, atomically: true, encoding: .utf8)
        let (s4, refused) = try Harness.run(Harness.binary, ["backtest", "--replay", log, "--costs", costs], stderr: true)
        #expect(s4 != 0 && refused.contains("lead time + review period = 21"), "\(refused)")
    }
}
