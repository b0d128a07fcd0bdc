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

    /// `forecast.model_file = "A+B"` serves the ensemble through the real pipeline. With two
    /// different seeds its values are the members' means; with one model twice they equal the
    /// model's own (averaging equal floats is exact), so the ensemble path adds nothing but the id.
    @Test func ensembleModelFileServesTheQuantileAverage() throws {
        let dir = Harness.temporaryDirectory()
        let log = dir.appendingPathComponent("log.jsonl").path
        #expect(try Harness.streamcast(["simulate", "--products", "20", "--periods", "50", "--seed", "4", "--out", log]).0 == 0)
        let a = dir.appendingPathComponent("a.safetensors").path, b = dir.appendingPathComponent("b.safetensors").path
        try KafkaEndToEndTests.train(log, out: a, seed: 1)
        try KafkaEndToEndTests.train(log, out: b, seed: 2)
        func forecasts(_ model: String) throws -> [String: [[Double]]] {
            let out = dir.appendingPathComponent("\(UUID().uuidString).jsonl")
            let (status, text) = try Harness.streamcast(["replay", log, "--offline", "--out", out.path, "--model", model])
            #expect(status == 0, "\(text)")
            var byKey: [String: [[Double]]] = [:]
            for line in try String(contentsOf: out, encoding: .utf8).split(separator: "\n") {
                let m = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
                let targets = try #require(m["targets"] as? [[String: Any]])
                byKey["\(m["product"]!)@\(m["fct"]!)"] = targets.map { $0["q"] as? [Double] ?? [] }
            }
            return byKey
        }
        let fa = try forecasts(a), fb = try forecasts(b), ab = try forecasts("\(a)+\(b)"), aa = try forecasts("\(a)+\(a)")
        #expect(!fa.isEmpty && fa.keys.sorted() == ab.keys.sorted())
        #expect(aa == fa)
        var worst = 0.0
        for (key, rows) in ab {
            for (k, row) in rows.enumerated() {
                for (j, v) in row.enumerated() {
                    let mean = (fa[key]![k][j] + fb[key]![k][j]) / 2
                    worst = max(worst, abs(v - mean))
                }
            }
        }
        #expect(worst < 0.01, "ensemble differs from the members' mean by \(worst)")  // 3-decimal output rounding
        #expect(fa != fb)
    }

    /// `--recalibration-step` adds each model wrapped in online recalibration, learned from every
    /// period the replay closes (relative to the level, or with `--recalibration-scale width` to the
    /// emitted interval's width).
    @Test func backtestAlsoScoresTheRecalibratedModel() throws {
        let dir = Harness.temporaryDirectory()
        let log = dir.appendingPathComponent("log.jsonl").path, model = dir.appendingPathComponent("m.safetensors").path
        #expect(try Harness.streamcast(["simulate", "--products", "20", "--periods", "60", "--seed", "5", "--out", log]).0 == 0)
        try KafkaEndToEndTests.train(log, out: model, seed: 1, horizons: 7)
        let (status, out) = try Harness.streamcast(["backtest", "--replay", log, "--horizons", "7", "--forecasters", "",
                                                     "--model", model, "--recalibration-step", "0.2",
                                                     "--recalibration-scale", "width", "--json"])
        #expect(status == 0, "\(out)")
        let reports = try #require(try JSONSerialization.jsonObject(with: Data(out.utf8)) as? [[String: Any]])
        let names = reports.compactMap { $0["model"] as? String }
        #expect(names.count == 2 && names[1] == names[0] + "+aci-width", "the width step, named: \(names)")
        // The raw share at or below each quantile (coverage proper may read nominal for both).
        let coverage = reports.map { $0["coverageAtOrBelow"] as? [Double] ?? [] }
        #expect(coverage[0] != coverage[1], "recalibration moved no quantile")
        // `--no-memory`: the same model with its error memory off, scored beside it (and different:
        // by the last FCTs every product has errors in its memory).
        let (plainStatus, plain) = try Harness.streamcast(["backtest", "--replay", log, "--horizons", "7", "--forecasters", "",
                                                            "--model", model, "--no-memory", "--json"])
        #expect(plainStatus == 0, "\(plain)")
        let pair = try #require(try JSONSerialization.jsonObject(with: Data(plain.utf8)) as? [[String: Any]])
        #expect(pair.compactMap { $0["model"] as? String } == [names[0], names[0] + "+no-memory"])
        #expect(pair[0]["weightedQuantileLoss"] as? [Double] != pair[1]["weightedQuantileLoss"] as? [Double])
        // Refused with a usage error (exit 64), not a crash: a step outside (0, 1], an unknown
        // step scale, an empty ensemble.
        #expect(try Harness.streamcast(["backtest", "--replay", log, "--model", model, "--recalibration-step", "0"]).0 == 64)
        #expect(try Harness.streamcast(["backtest", "--replay", log, "--model", model, "--recalibration-step", "0.1",
                                        "--recalibration-scale", "spread"]).0 == 64)
        #expect(try Harness.streamcast(["backtest", "--replay", log, "--ensemble", ""]).0 == 64)
    }
}
