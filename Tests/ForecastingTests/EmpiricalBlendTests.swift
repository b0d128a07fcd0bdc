import Foundation
@testable import Forecasting
import NeuralNet
import Testing
import Windows

/// The mix of the network's quantiles with the product's own empirical ones: the fit on held-out
/// cells, the model file, and serving.
@Suite struct EmpiricalBlendTests {
    /// As the streamcast process does at its start (BLAS.useOneThread says why).
    init() { BLAS.useOneThread() }

    @Test func fitMixesInTheEmpiricalQuantileWhereItIsBetter() throws {
        // Products that sell 0 or 5, 5 one period in four. The network says P10 0, P50 0 (right)
        // and P90 2 (wrong: the P90 is 5, which every lookback's empirical P90 says).
        let history = (0..<40).map { Float($0 % 4 == 0 ? 5 : 0) }
        let actuals = (0..<400).map { Float($0 % 4 == 0 ? 5 : 0) }
        let forecasts = actuals.map { _ in [Float(0), 0, 2] }
        let blend = try #require(EmpiricalBlend.fit(forecasts: forecasts, history: actuals.map { _ in history[...] },
                                                    actuals: actuals, quantiles: [0.1, 0.5, 0.9]))
        #expect(blend.weights == [0, 0, 1], "\(blend.encoded)")
        #expect(EmpiricalBlend.lookbacks.contains(blend.lookback))
        let empirical = blend.empirical(history, levels: [0.1, 0.5, 0.9])
        #expect(empirical[2] == 5 && blend.apply(2, empirical[2], column: 2) == 5)
        // Half way: λ = 0.5 mixes linearly.
        #expect(EmpiricalBlend(lookback: 12, weights: [0.5]).apply(2, 4, column: 0) == 3)
        // A network that is already right everywhere gets no blend.
        #expect(EmpiricalBlend.fit(forecasts: actuals.map { _ in [0, 0, 5] }, history: actuals.map { _ in history[...] },
                                   actuals: actuals, quantiles: [0.1, 0.5, 0.9]) == nil)
    }

    @Test func aGainWithinTheNoiseIsNotKept() {
        // Half the products gain 1 from the empirical median, half lose 0.9: the best λ is 1 with a
        // total gain, but the mean per-product gain (0.05) is well inside two standard errors.
        let kinds = (0..<100).map { $0 % 2 == 0 }
        let actuals: [Float] = kinds.map { $0 ? 5 : 1 }
        let forecasts: [[Float]] = kinds.map { [$0 ? 3 : 1] }
        let history: [ArraySlice<Float>] = kinds.map { Array(repeating: $0 ? Float(5) : 2.8, count: 40)[...] }
        #expect(EmpiricalBlend.fit(forecasts: forecasts, history: history, actuals: actuals, products: Array(0..<100), quantiles: [0.5]) == nil)
        // Product ids with no held-out cells do not count as zero gains. Six products, two cells
        // each: three gain 2 from the empirical median (the network says 3, they sell 5), three
        // nothing (the network already says 5): mean gain 1, standard error 0.45 — clear. Counted
        // among 5,000 ids as zeros it would not be.
        let cells = (0..<12).map { $0 / 2 }  // product of each cell
        let net: [[Float]] = cells.map { [$0 % 2 == 0 ? 3 : 5] }
        let fives = cells.map { _ in Float(5) }, histories = cells.map { _ in Array(repeating: Float(5), count: 40)[...] }
        #expect(EmpiricalBlend.fit(forecasts: net, history: histories, actuals: fives, products: cells.map { $0 * 1000 }, quantiles: [0.5]) != nil)
        #expect(!EmpiricalBlend.clearGain([2, 0, 2, 0, 2, 0] + Array(repeating: 0, count: 4_994)))
        // The same gain on every product is clear.
        #expect(EmpiricalBlend.clearGain(Array(repeating: 0.05, count: 100)))
        #expect(!EmpiricalBlend.clearGain((0..<100).map { $0 % 2 == 0 ? 1 : -0.9 }))
    }

    @Test func theModelFileKeepsTheBlendAndRefusesABadOne() throws {
        var model = MQForecasterTests.model()
        model.empiricalBlend = EmpiricalBlend(lookback: 18, weights: [0, 0.2, 0.8])
        let path = NSTemporaryDirectory() + "blend-\(UUID().uuidString).safetensors"
        try model.save(to: path)
        let loaded = try MQModel.load(from: path)
        #expect(loaded.empiricalBlend == model.empiricalBlend && loaded.historyNeeded == 18)
        var bytes = try Data(contentsOf: URL(fileURLWithPath: path))
        let range = try #require(bytes.range(of: Data("18:0.0,0.2,0.8".utf8)))
        bytes.replaceSubrange(range, with: Data("18:0.0,0.2,1.8".utf8))
        try bytes.write(to: URL(fileURLWithPath: path))
        do { _ = try MQModel.load(from: path); Issue.record("a weight of 1.8 was accepted") } catch {
            #expect("\(error)".contains("empirical_blend"))
        }
    }

    @Test func servingMixesTheNetworkWithTheProductsOwnQuantiles() {
        let plain = MQForecasterTests.model()  // context 16
        var blended = plain
        blended.empiricalBlend = EmpiricalBlend(lookback: 24, weights: [0.3, 0.5, 0.9])
        let units = MQForecasterTests.series(3, days: 40)
        let w = window(units)
        var s1: [UInt8] = [], s2: [UInt8] = []
        let raw = MQForecaster(model: plain).forecast(w, horizons: 4, quantiles: [0.1, 0.5, 0.9], state: &s1)
        let mixed = MQForecaster(model: blended).forecast(w, horizons: 4, quantiles: [0.1, 0.5, 0.9], state: &s2)
        let recent = Array(units.suffix(24)).sorted()
        let empirical = [0.1, 0.5, 0.9].map { sampleQuantile(recent, $0) }
        for k in 0..<4 {
            // Sorted: with a different λ per quantile the mix could cross.
            let expected = (0..<3).map { j in (1 - [Float(0.3), 0.5, 0.9][j]) * raw[k][j] + [Float(0.3), 0.5, 0.9][j] * empirical[j] }.sorted()
            #expect(zip(mixed[k], expected).allSatisfy { abs($0 - $1) < 1e-4 }, "horizon \(k): \(mixed[k]) vs \(expected)")
        }
        // The service keeps 24 periods for it, and a reload into 16-period windows is refused.
        #expect(MQForecaster(model: blended).contextLength == 24)
        #expect(blended.incompatibility(replacing: plain, windowLength: 16, quantiles: [0.1, 0.5, 0.9])?.contains("24 periods") == true)
        #expect(blended.incompatibility(replacing: plain, windowLength: 24, quantiles: [0.1, 0.5, 0.9]) == nil)
    }
}
