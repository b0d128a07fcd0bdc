import Foundation
@testable import Forecasting
import NeuralNet
import Testing
import Windows

/// Whole-unit (or whole-pack) quantiles for count data: the fit, the model file, and serving alone
/// and in an ensemble.
@Suite struct CountRoundingTests {
    /// As the streamcast process does at its start (BLAS.useOneThread says why).
    init() { BLAS.useOneThread() }

    func pinball(_ f: [Float], _ y: [Float], _ q: Float) -> Float {
        zip(f, y).reduce(0) { s, p in let d = p.1 - p.0; return s + max(q * d, (q - 1) * d) }
    }

    @Test func fitPicksTheRoundingPointThatLowersTheHeldOutLoss() throws {
        // Demand is 1 every time; the continuous P90 says 0.3, the P10 0.7. For the P90 rounding
        // up (θ < 0.3) is right, for the P10 rounding 0.7 up to 1 also is (θ < 0.7): both are
        // fitted at the smallest candidate that reaches the minimum.
        let forecasts = Array(repeating: [Float(0.7), 0.3], count: 50), actuals = Array(repeating: Float(1), count: 50)
        let r = try #require(CountRounding.fit(forecasts: forecasts, actuals: actuals, quantiles: [0.1, 0.9]))
        #expect(r.thresholds == [0.05, 0.05])
        #expect(r.apply(0.3, column: 1) == 1 && r.apply(0, column: 1) == 0 && r.apply(2.04, column: 1) == 2)
        // Poisson(0.8)-like counts against a constant continuous P90 of 1.6: the true P90 is 2.
        let y: [Float] = (0..<1000).map { i in [0, 0, 0, 0, 1, 1, 1, 2, 2, 3][i % 10] }
        let p = try #require(CountRounding.fit(forecasts: y.map { _ in [1.6] }, actuals: y, quantiles: [0.9]))
        let theta = try #require(p.thresholds[0])
        #expect(pinball(y.map { _ in p.apply(1.6, column: 0) }, y, 0.9) < pinball(y.map { _ in 1.6 }, y, 0.9))
        #expect(p.apply(1.6, column: 0) == 2, "θ = \(theta)")
    }

    @Test func packSizeIsTheGreatestCommonDivisorOfTheSales() {
        #expect(CountRounding.packSize([0, 5, 10, 0, 20]) == 5)
        #expect(CountRounding.packSize([2, 4, 0, 6]) == 2)
        #expect(CountRounding.packSize([5, 3]) == 1, "singles: whole units")
        #expect(CountRounding.packSize([0, 0]) == 1, "no sale: whole units")
        #expect(CountRounding.packSize([5, 2.5]) == 1, "not counts")
        #expect(CountRounding.round(2.6, at: 0.4, unit: 5) == 5 && CountRounding.round(1.9, at: 0.4, unit: 5) == 0)
        #expect(CountRounding.round(10.1, at: 0.4, unit: 5) == 10 && CountRounding.round(2.6, at: 0.4) == 3)
    }

    @Test func theFitRoundsByPacksWhereProductsSellInPacks() throws {
        // A part sold 0 or 5 at a time, 5 in a quarter of the periods: its P90 is 5. The network
        // says 2.6 — whole units can only make that 2 or 3, packs make it 5.
        let y: [Float] = (0..<400).map { $0 % 4 == 0 ? 5 : 0 }
        let forecasts = y.map { _ in [Float(2.6)] }
        let byUnits = try #require(CountRounding.fit(forecasts: forecasts, actuals: y, quantiles: [0.9]))
        #expect(!byUnits.packs && byUnits.apply(2.6, column: 0) == 3)
        let byPacks = try #require(CountRounding.fit(forecasts: forecasts, actuals: y, packs: y.map { _ in 5 }, quantiles: [0.9]))
        #expect(byPacks.packs && byPacks.apply(2.6, column: 0, pack: 5) == 5)
        #expect(pinball(y.map { _ in 5 }, y, 0.9) < pinball(y.map { _ in 3 }, y, 0.9))
        // Every product a single-unit seller: packs are whole units, and whole units are kept.
        let singles = try #require(CountRounding.fit(forecasts: forecasts, actuals: y, packs: y.map { _ in 1 }, quantiles: [0.9]))
        #expect(!singles.packs)
        #expect(CountRounding(encoded: byPacks.encoded) == byPacks && byPacks.encoded.hasPrefix("packs:"))
    }

    @Test func nothingIsRoundedWhereRoundingDoesNotHelp() {
        // Forecasts already whole and exact: no rounding point beats them.
        let y: [Float] = [0, 1, 2, 3, 4]
        #expect(CountRounding.fit(forecasts: y.map { [$0] }, actuals: y, quantiles: [0.5]) == nil)
        #expect(MQTrainer.isCountData([ProductSeries(product: "a", category: 0, firstPeriod: 0, units: [0, 2, 5], views: [], price: [], promo: [])]))
        #expect(!MQTrainer.isCountData([ProductSeries(product: "a", category: 0, firstPeriod: 0, units: [0, 2.5], views: [], price: [], promo: [])]))
    }

    @Test func theModelFileKeepsTheRoundingAndRefusesABadOne() throws {
        var model = MQForecasterTests.model()
        model.countRounding = CountRounding(thresholds: [0.35, nil, 0.6])
        let path = NSTemporaryDirectory() + "rounding-\(UUID().uuidString).safetensors"
        try model.save(to: path)
        #expect(try MQModel.load(from: path).countRounding == model.countRounding)
        // A threshold outside (0, 1) in the header is refused with the key named.
        var bytes = try Data(contentsOf: URL(fileURLWithPath: path))
        let range = try #require(bytes.range(of: Data("0.35,-,0.6".utf8)))
        bytes.replaceSubrange(range, with: Data("1.35,-,0.6".utf8))
        try bytes.write(to: URL(fileURLWithPath: path))
        #expect(throws: ModelFileError.self) { try MQModel.load(from: path) }
        do { _ = try MQModel.load(from: path) } catch { #expect("\(error)".contains("count_rounding")) }
    }

    @Test func servingRoundsAloneAndAnEnsembleRoundsItsAverage() {
        var c = MQConfig()
        c.context = 16
        let rounding = CountRounding(thresholds: [0.3, 0.5, 0.7])
        let a = MQModel(network: MQNetwork(c, seed: 7), period: .day, holidays: [], id: "a", countRounding: rounding)
        let b = MQModel(network: MQNetwork(c, seed: 8), period: .day, holidays: [], id: "b", countRounding: CountRounding(thresholds: [0.5, 0.5, 0.5]))
        let w = window(MQForecasterTests.series(3, days: 30).map { $0 * 3 })
        var s1: [UInt8] = [], s2: [UInt8] = [], s3: [UInt8] = [], s4: [UInt8] = []
        let raw = MQForecaster(model: a, countRounding: false).forecast(w, horizons: 4, quantiles: [0.1, 0.5, 0.9], state: &s1)
        let rounded = MQForecaster(model: a).forecast(w, horizons: 4, quantiles: [0.1, 0.5, 0.9], state: &s2)
        #expect(raw.joined().contains { $0 != $0.rounded() }, "the raw forecast is fractional")
        for (r, f) in zip(raw, rounded) {
            #expect(f == zip(r, [Float(0.3), 0.5, 0.7]).map { max(0, ($0 - $1).rounded(.up)) }.sorted())
        }
        // By packs: this product sells in 3s, so every quantile is a multiple of 3.
        let packs = MQModel(network: a.network, period: .day, holidays: [], id: "a", countRounding: CountRounding(thresholds: [0.3, 0.5, 0.7], packs: true))
        var s5: [UInt8] = []
        let inPacks = MQForecaster(model: packs).forecast(w, horizons: 4, quantiles: [0.1, 0.5, 0.9], state: &s5)
        for (r, f) in zip(raw, inPacks) {
            #expect(f == zip(r, [Float(0.3), 0.5, 0.7]).map { 3 * max(0, ($0 / 3 - $1).rounded(.up)) }.sorted())
        }
        // Ensemble: the members' continuous mean, rounded at the mean points (0.4, 0.5, 0.6).
        let rawB = MQForecaster(model: b, countRounding: false).forecast(w, horizons: 4, quantiles: [0.1, 0.5, 0.9], state: &s3)
        let ensemble = EnsembleForecaster(models: [a, b]).forecast(w, horizons: 4, quantiles: [0.1, 0.5, 0.9], state: &s4)
        for k in 0..<4 {
            let expected = (0..<3).map { j in max(0, ((raw[k][j] + rawB[k][j]) / 2 - [Float(0.4), 0.5, 0.6][j]).rounded(.up)) }.sorted()
            #expect(ensemble[k] == expected, "horizon \(k)")
        }
        // Members that round by packs: the mean in packs (and a mixed pair rounds member by member).
        let packsB = MQModel(network: b.network, period: .day, holidays: [], id: "b", countRounding: CountRounding(thresholds: [0.5, 0.5, 0.5], packs: true))
        var s6: [UInt8] = []
        let inPacksMean = EnsembleForecaster(models: [packs, packsB]).forecast(w, horizons: 4, quantiles: [0.1, 0.5, 0.9], state: &s6)
        for k in 0..<4 {
            let points: [Float] = [0.4, 0.5, 0.6]
            let expected = (0..<3).map { j -> Float in
                let mean: Float = (raw[k][j] + rawB[k][j]) / 2
                return 3 * max(0, (mean / 3 - points[j]).rounded(.up))
            }.sorted()
            #expect(inPacksMean[k] == expected, "horizon \(k)")
        }
        #expect(EnsembleForecaster(models: [packs, b]).roundingPoints.isEmpty)
    }
}
