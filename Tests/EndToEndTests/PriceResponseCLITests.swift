import Foundation
import Testing

/// `streamcast price-response` on a simulated log: one row per change and horizon; the true response
/// follows the sign of the change (every elasticity is negative), and so does the model's (its
/// price elasticity is ≤ 0 by construction); the numbers are finite.
/// And `train` with its defaults reads Config/calendar.toml and gives each event its own inputs.
@Suite struct PriceResponseCLITests {
    @Test func priceResponseAgainstTheTrueElasticity() throws {
        let (dir, log, model, trainOut) = try Self.simulatedAndTrained()
        #expect(trainOut.contains("calendar: Config/calendar.toml") && trainOut.contains("each with its own inputs"), "\(trainOut)")

        let (status, out) = try Harness.streamcast(["price-response", "--replay", log, "--model", model,
                                                    "--truth", dir.appendingPathComponent("log.truth.csv.gz").path, "--changes=-20,10"])
        #expect(status == 0, "\(out)")
        let rows = out.split(separator: "\n").filter { $0.hasPrefix("  -20%") || $0.hasPrefix("  +10%") }
        #expect(rows.count == 2 * 14, "a row per change and horizon: \(out)")
        for row in rows {
            let numbers = row.split(separator: " ").compactMap { Double($0.replacingOccurrences(of: "%", with: "")) }
            #expect(numbers.count == 6 && numbers.allSatisfy(\.isFinite), "\(row)")
            let (change, model, truth) = (numbers[0], numbers[2], numbers[3])
            #expect(change < 0 ? truth > 0 : truth < 0, "a price cut raises demand, a rise lowers it: \(row)")
            #expect(change < 0 ? model > 0 : model < 0, "the model's response has the same sign: \(row)")
        }
    }

    /// 40 products × 60 days (seed 9) and a quickly trained model on them (more `train` options
    /// may be given); returns the folder, the log, the model and what `train` printed.
    static func simulatedAndTrained(_ train: [String] = []) throws -> (dir: URL, log: String, model: String, trainOut: String) {
        let dir = Harness.temporaryDirectory()
        let log = dir.appendingPathComponent("log.jsonl").path
        #expect(try Harness.streamcast(["simulate", "--products", "40", "--periods", "60", "--seed", "9", "--out", log]).0 == 0)
        let model = dir.appendingPathComponent("m.safetensors").path
        let (status, out) = try Harness.streamcast(["train", "--replay", log, "--out", model, "--epochs", "1", "--examples", "1500"] + train)
        #expect(status == 0, "\(out)")
        return (dir, log, model, out)
    }

    @Test func aTruthFileWithoutElasticitiesIsAClearError() throws {
        let dir = Harness.temporaryDirectory()
        let truth = dir.appendingPathComponent("old.truth.csv").path
        try "product,start,mean,shape,units,q0.1,q0.5,q0.9\nP1,2024-01-01T00:00:00Z,1,1,1,0,1,2\n".write(toFile: truth, atomically: true, encoding: .utf8)
        let (status, _) = try Harness.streamcast(["price-response", "--replay", "Replays/sample-daily.jsonl.gz",
                                                  "--model", "Replays/sample-daily.safetensors", "--truth", truth])
        #expect(status != 0)
    }
}

/// What `train` chooses and trains is a function of the data and the seed: two runs, the same model.
@Suite struct TrainCLITests {
    @Test func sameSeedSameModel() throws {
        let dir = Harness.temporaryDirectory()
        let log = dir.appendingPathComponent("log.jsonl").path
        #expect(try Harness.streamcast(["simulate", "--products", "30", "--periods", "50", "--seed", "5", "--out", log]).0 == 0)
        var ids: [String] = [], choices: [String] = []
        for run in 0..<2 {
            let out = dir.appendingPathComponent("m\(run).safetensors").path
            let (status, text) = try Harness.streamcast(["train", "--replay", log, "--out", out, "--epochs", "2", "--examples", "1000", "--networks", "2"])
            #expect(status == 0, "\(text)")
            ids += text.split(separator: "\n").filter { $0.hasPrefix("model ") }.map { String($0.split(separator: " ")[1]) }
            // The log has promotions: how they enter is chosen on the held-out tail (a network more).
            choices += text.split(separator: "\n").filter { $0.hasPrefix("promotions: ") }.map(String.init)
        }
        #expect(ids.count == 2 && ids[0] == ids[1], "\(ids)")
        #expect(choices.count == 2 && choices[0] == choices[1], "\(choices)")
        // The choice is recorded in the model file, so serving builds the same inputs.
        let header = String(decoding: try Data(contentsOf: dir.appendingPathComponent("m0.safetensors")).prefix(4000), as: UTF8.self)
        #expect(header.contains(choices.first?.contains("lift a factor") == true ? #"promoLift\":true"# : #"promoLift\":false"#), "\(header.prefix(600))")
        // Told how, it does not choose.
        let (_, told) = try Harness.streamcast(["train", "--replay", log, "--out", dir.appendingPathComponent("m2.safetensors").path,
                                                "--epochs", "1", "--examples", "500", "--networks", "1", "--no-promo-lift"])
        #expect(!told.contains("promotions: ") && told.contains("model mq-"), "\(told)")
        let a = try Data(contentsOf: dir.appendingPathComponent("m0.safetensors")), b = try Data(contentsOf: dir.appendingPathComponent("m1.safetensors"))
        #expect(a == b, "byte for byte")
    }
}
