import Boosting
import Testing

/// y = 3·x₀ + x₁·u with u uniform on [0, 10): the τ-quantile given x is 3·x₀ + 10·τ·x₁.
private func sample(_ n: Int, seed: UInt64) -> (rows: [Float], y: [Float]) {
    var state = seed
    func uniform() -> Float {
        state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
        return Float(state >> 40) / Float(1 << 24)
    }
    var rows: [Float] = [], y: [Float] = []
    for _ in 0..<n {
        let x0 = uniform() * 4, x1 = uniform() < 0.5 ? Float(0.2) : 1, noise = uniform()
        rows += [x0, x1, uniform()]
        y.append(3 * x0 + x1 * 10 * noise)
    }
    return (rows, y)
}

@Suite struct QuantileBoostingTests {
    @Test func treesGrownOnThePinballLossFindTheQuantile() throws {
        let train = sample(6_000, seed: 1), held = sample(2_000, seed: 2), fresh = sample(4_000, seed: 3)
        let ones = { (n: Int) in [Float](repeating: 1, count: n) }
        let training = QuantileBoosting.Data(rows: try FeatureRows(train.rows, columns: 3), targets: train.y, weights: ones(train.y.count))
        let heldOut = QuantileBoosting.Data(rows: try FeatureRows(held.rows, columns: 3), targets: held.y, weights: ones(held.y.count))
        var settings = QuantileBoosting.Settings()
        settings.minLeafWeight = 100
        settings.depth = 4
        for level in [0.1, 0.9] {
            let fit = try QuantileBoosting.fit(level: level, training: training, heldOut: heldOut, settings: settings)
            let scores = try fit.booster.predict(try FeatureRows(fresh.rows, columns: 3))
            let below = zip(fresh.y, scores).filter { $0 <= $1 }.count
            let coverage = Double(below) / Double(fresh.y.count)
            #expect(abs(coverage - level) < 0.04, "coverage \(coverage) at level \(level)")
            // Against the true quantile, the trees' error is a fraction of the spread.
            var error: Float = 0
            for i in fresh.y.indices {
                let x0 = fresh.rows[3 * i], x1 = fresh.rows[3 * i + 1]
                error += abs(scores[i] - (3 * x0 + 10 * Float(level) * x1))
            }
            #expect(error / Float(fresh.y.count) < 0.6, "mean error \(error / Float(fresh.y.count))")
            #expect(fit.rounds < settings.maxRounds || fit.heldOutLoss != nil)
        }
    }

    @Test func aMonotoneFeatureOnlyMovesTheScoreOneWay() throws {
        // y rises with x₂ in the data, but the trees are told it may only fall with x₂.
        let train = sample(3_000, seed: 5)
        let y = zip(train.y, stride(from: 2, to: train.rows.count, by: 3).map { train.rows[$0] }).map { $0 + 4 * $1 }
        func sweep(monotone: [Int]) throws -> [Float] {
            var settings = QuantileBoosting.Settings()
            settings.maxRounds = 100
            settings.monotone = monotone
            let fit = try QuantileBoosting.fit(level: 0.5, training: .init(rows: try FeatureRows(train.rows, columns: 3), targets: y,
                                                                           weights: [Float](repeating: 1, count: y.count)), heldOut: nil, settings: settings)
            return try fit.booster.predict(try FeatureRows((0...20).flatMap { [Float(2), 1, Float($0) / 20] }, columns: 3))
        }
        let free = try sweep(monotone: []), bound = try sweep(monotone: [0, 0, -1])
        #expect(free.last! > free.first! + 2, "unconstrained, the score follows the data: \(free)")
        #expect(zip(bound, bound.dropFirst()).allSatisfy { $1 <= $0 }, "\(bound)")
    }

    @Test func bytesRoundTripToTheSamePredictions() throws {
        let train = sample(2_000, seed: 4)
        let rows = try FeatureRows(train.rows, columns: 3)
        var settings = QuantileBoosting.Settings()
        settings.maxRounds = 40
        let fit = try QuantileBoosting.fit(level: 0.5, training: .init(rows: rows, targets: train.y, weights: [Float](repeating: 1, count: train.y.count)),
                                           heldOut: nil, settings: settings)
        #expect(fit.rounds == 40)
        let again = try Booster(bytes: try fit.booster.bytes())
        #expect(try again.predict(rows) == (try fit.booster.predict(rows)))
        #expect(again.rounds == 40)
    }

    @Test func badBytesAreAnError() {
        #expect(throws: BoostingError.self) { try Booster(bytes: [1, 2, 3]) }
    }
}
