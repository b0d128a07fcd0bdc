@testable import Forecasting
import NeuralNet
import Testing
import Windows

/// The neural forecaster as the stream uses it: batch-invariant numerics, the error memory filled
/// in period by period, and the online recalibrator's quantile tracking.
@Suite struct MQForecasterTests {
    /// As the streamcast process does at its start (BLAS.useOneThread says why).
    init() { BLAS.useOneThread() }

    static func model(horizons: Int = 4, memoryQuantiles: Bool = false, memoryForecasts: Bool = false) -> MQModel {
        var c = MQConfig()
        c.horizons = horizons
        c.memoryQuantiles = memoryQuantiles
        c.memoryForecasts = memoryForecasts
        c.context = 16
        return MQModel(network: MQNetwork(c, seed: 7), period: .day, holidays: [], id: "test")
    }

    /// Deterministic, varied demand for product i over n days.
    static func series(_ i: Int, days n: Int) -> [Float] {
        (0..<n).map { d in Float((i * 7 + d * 3) % 11) + (d > n / 2 ? Float(i % 5) : 0) }
    }

    /// Two closes: the second forecasts from the memory the first left (with past forecasts in it
    /// for `memoryForecasts`, the forecast feeds the next one). `onePerPass`: each product in a
    /// forward pass of its own (what a BLAS without batch-invariant rows gets); else the default.
    @Test(arguments: [false, true], [false, true])
    func aProductsForecastDoesNotDependOnItsBatch(memoryForecasts: Bool, onePerPass: Bool) {
        let model = Self.model(memoryForecasts: memoryForecasts)
        let perPass = onePerPass ? 1 : nil
        let f = MQForecaster(model: model, productsPerPass: perPass)
        // 300 products: the whole batch is split across threads, the smaller ones are not.
        let f2 = MQForecaster(model: model, threads: 2, productsPerPass: perPass)
        var together = Array(repeating: [UInt8](), count: 300)
        var bySize = [1, 17, 64, 299].map { _ in Array(repeating: [UInt8](), count: 300) }
        for close in 0..<2 {
            let windows = (0..<300).map { window(Self.series($0, days: 30 + close + $0 % 9)) }
            let all = f2.forecastBatch(windows, horizons: 4, quantiles: [0.1, 0.5, 0.9], states: &together)
            // The same products in batches of other sizes and one at a time: bit-identical.
            for (n, size) in [1, 17, 64, 299].enumerated() {
                var values: [[[Float]]] = []
                for from in stride(from: 0, to: windows.count, by: size) {
                    let to = min(from + size, windows.count)
                    var chunk = Array(bySize[n][from..<to])
                    values += f.forecastBatch(Array(windows[from..<to]), horizons: 4, quantiles: [0.1, 0.5, 0.9], states: &chunk)
                    bySize[n].replaceSubrange(from..<to, with: chunk)
                }
                #expect(values == all, "close \(close), batch size \(size)")
                #expect(bySize[n] == together, "close \(close), batch size \(size)")
            }
        }
        #expect(together.allSatisfy { f.memory.decode($0).count == 2 })
    }

    /// The BLAS check is not crying wolf, nor missing a real dependence: passes of 64 products give
    /// the same bits as one-product passes exactly when `BLAS.rowsAreBatchInvariant` says they will
    /// (false here on OpenBLAS 0.3.21's Haswell/Zen kernels, true on its SkylakeX ones).
    @Test func theBLASCheckPredictsWhetherBatchedPassesAreExact() {
        let model = Self.model()
        let batched = MQForecaster(model: model, threads: 1, productsPerPass: MQForecaster.forwardBatch)
        let single = MQForecaster(model: model, threads: 1, productsPerPass: 1)
        let windows = (0..<128).map { window(Self.series($0, days: 30 + $0 % 9)) }
        var s1 = Array(repeating: [UInt8](), count: 128), s2 = s1
        let a = batched.forecastBatch(windows, horizons: 4, quantiles: [0.1, 0.5, 0.9], states: &s1)
        let b = single.forecastBatch(windows, horizons: 4, quantiles: [0.1, 0.5, 0.9], states: &s2)
        #expect((a == b && s1 == s2) == BLAS.rowsAreBatchInvariant, "OpenBLAS core \(BLAS.coreName)")
        #expect(MQForecaster(model: model).productsPerPass == (BLAS.rowsAreBatchInvariant ? MQForecaster.forwardBatch : 1))
    }

    /// An ensemble's quantiles are the members' means; each member keeps its own memory in the
    /// ensemble's state, exactly as it would alone, over several period closes.
    @Test func ensembleAveragesMembersAndKeepsTheirStates() {
        var c = MQConfig()
        c.context = 16
        let a = MQForecaster(model: MQModel(network: MQNetwork(c, seed: 7), period: .day, holidays: [], id: "a"))
        let b = MQForecaster(model: MQModel(network: MQNetwork(c, seed: 8), period: .day, holidays: [], id: "b"))
        let ensemble = EnsembleForecaster(members: [a, b])
        let y = Self.series(2, days: 40)
        var stateA: [UInt8] = [], stateB: [UInt8] = [], state: [UInt8] = []
        for n in 30...34 {
            let w = window(Array(y.prefix(n)))
            let fa = a.forecast(w, horizons: 4, quantiles: [0.1, 0.5, 0.9], state: &stateA)
            let fb = b.forecast(w, horizons: 4, quantiles: [0.1, 0.5, 0.9], state: &stateB)
            let f = ensemble.forecast(w, horizons: 4, quantiles: [0.1, 0.5, 0.9], state: &state)
            for k in 0..<4 {
                let mean = (0..<3).map { (fa[k][$0] + fb[k][$0]) / 2 }
                #expect(zip(f[k], mean).allSatisfy { abs($0 - $1) < 1e-6 }, "day \(n) horizon \(k)")
            }
            #expect(EnsembleForecaster.split(state, members: 2) == [stateA, stateB])
        }
        #expect(fa0Differs(a, b))
        #expect(ensemble.id == "ensemble-a+b")
    }

    /// The members really differ (else the average would test nothing).
    func fa0Differs(_ a: MQForecaster, _ b: MQForecaster) -> Bool {
        var s1: [UInt8] = [], s2: [UInt8] = []
        let w = window(Self.series(2, days: 30))
        return a.forecast(w, horizons: 4, quantiles: [0.5], state: &s1) != b.forecast(w, horizons: 4, quantiles: [0.5], state: &s2)
    }

    /// Through `any Forecaster` (how the processor and the wrappers hold a forecaster) a batch call
    /// reaches the type's own batched path. It used to be an extension method only, so existential
    /// calls went to the one-product-at-a-time default: every "batched" refresh ran batches of one.
    @Test func batchCallsThroughTheExistentialReachTheBatchedPath() {
        final class Counting: Forecaster, @unchecked Sendable {
            var batches: [Int] = []
            var id: String { "counting" }
            func forecast(_ window: ProductWindow, horizons: Int, quantiles: [Double], state: inout [UInt8]) -> [[Float]] {
                var states = [state]
                return forecastBatch([window], horizons: horizons, quantiles: quantiles, states: &states)[0]
            }
            func forecastBatch(_ windows: [ProductWindow], horizons: Int, quantiles: [Double], states: inout [[UInt8]]) -> [[[Float]]] {
                batches.append(windows.count)
                return windows.map { _ in Array(repeating: quantiles.map { _ in 1 }, count: horizons) }
            }
        }
        let counting = Counting()
        let windows = (0..<10).map { window(Self.series($0, days: 20)) }
        var states = Array(repeating: [UInt8](), count: 10)
        let asProtocol: any Forecaster = counting
        _ = asProtocol.forecastBatch(windows, horizons: 2, quantiles: [0.5], states: &states)
        _ = ConformalRecalibrator(inner: counting, step: 0.05).forecastBatch(windows, horizons: 2, quantiles: [0.5], states: &states)
        _ = EnsembleForecaster(members: [counting]).forecastBatch(windows, horizons: 2, quantiles: [0.5], states: &states)
        #expect(counting.batches == [10, 10, 10])
    }

    @Test(arguments: [(false, false), (true, false), (false, true)])
    func errorMemoryFillsInAsPeriodsClose(memoryQuantiles: Bool, memoryForecasts: Bool) {
        let model = Self.model(memoryQuantiles: memoryQuantiles, memoryForecasts: memoryForecasts)
        let f = MQForecaster(model: model), blind = MQForecaster(model: model, useMemory: false)
        let y = Self.series(3, days: 40)
        var state: [UInt8] = [], blindState: [UInt8] = []
        var differs = false
        for n in 30...36 {
            let w = window(Array(y.prefix(n)))
            let before = f.memory.decode(state)
            let a = f.forecast(w, horizons: 4, quantiles: [0.1, 0.5, 0.9], state: &state)
            let b = blind.forecast(w, horizons: 4, quantiles: [0.1, 0.5, 0.9], state: &blindState)
            let after = f.memory.decode(state)
            // A new entry for this FCT in front (H medians, or H × 3 quantiles [, H final medians]), at most R kept, the older ones unchanged.
            #expect(state.count == after.count * (8 + 4 * ((memoryQuantiles ? 12 : 4) + (memoryForecasts ? 4 : 0))))
            // With past forecasts: the entry ends with the medians this forecast emitted.
            if memoryForecasts { #expect(Array(after[0].base.suffix(4)) == a.map { $0[1] }) }
            #expect(after.first?.fct == w.lastClosed)
            #expect(after.count == min(before.count + 1, model.network.config.memory))
            #expect(Array(after.dropFirst().map(\.fct)) == Array(before.prefix(after.count - 1).map(\.fct)))
            if !before.isEmpty && a != b { differs = true }
            #expect(!before.isEmpty || a == b, "with nothing remembered, memory on and off agree")
        }
        #expect(differs, "once errors are known, the memory changes the forecast")
        // Without memory the state is kept all the same (it can be switched back on).
        #expect(f.memory.decode(blindState).count == model.network.config.memory)
    }

    @Test func recalibrationRaisesAQuantileThatKeepsBeingExceeded() {
        let inner = EmpiricalQuantileForecaster(lookback: 28)
        let f = ConformalRecalibrator(inner: inner, step: 0.1)
        // 28 quiet days, then demand far above every quantile the history supports.
        let y = Array(repeating: Float(2), count: 28) + Array(repeating: Float(20), count: 6)
        var state: [UInt8] = []
        var gaps: [Float] = [], emitted: [Float] = []
        for n in 28...34 {
            let w = window(Array(y.prefix(n)))
            var raw: [UInt8] = []
            let base = inner.forecast(w, horizons: 2, quantiles: [0.1, 0.5, 0.9], state: &raw)
            let adjusted = f.forecast(w, horizons: 2, quantiles: [0.1, 0.5, 0.9], state: &state)
            gaps.append(adjusted[0][2] - base[0][2])
            emitted.append(adjusted[0][2])
            #expect(adjusted.allSatisfy { $0 == $0.sorted() && $0.allSatisfy { $0 >= 0 } })
        }
        // No history of misses at first; then P90's offset rises by η·s·0.9 after every period
        // that exceeded the P90 emitted for it, and falls by η·s·0.1 after every one that did not.
        #expect(gaps[0] == 0)
        var rises = 0
        for i in 1..<gaps.count {
            let exceeded = y[27 + i] > emitted[i - 1]
            #expect(exceeded ? gaps[i] > gaps[i - 1] : gaps[i] < gaps[i - 1], "day \(27 + i)")
            if exceeded { rises += 1 }
        }
        #expect(rises >= 3 && rises < gaps.count - 1, "both directions are exercised")
        // A state without the trailer is the inner state as it was.
        #expect(ConformalRecalibrator.Trailer.split([1, 2, 3], quantiles: 3).inner == [1, 2, 3])
    }

    /// With `stepScale: .width` a miss moves the quantile by η × the width of the interval emitted
    /// for that period (P90 − P10), not by η × the product's level.
    @Test func recalibrationStepRelativeToTheEmittedWidth() {
        let inner = EmpiricalQuantileForecaster(lookback: 28)
        let f = ConformalRecalibrator(inner: inner, step: 0.1, stepScale: .width)
        let y = (0..<28).map { Float($0 % 2 == 0 ? 1 : 3) } + [20]
        var state: [UInt8] = [], raw: [UInt8] = []
        let first = f.forecast(window(Array(y.prefix(28))), horizons: 1, quantiles: [0.1, 0.5, 0.9], state: &state)
        let w = window(y)
        let base = inner.forecast(w, horizons: 1, quantiles: [0.1, 0.5, 0.9], state: &raw)
        let adjusted = f.forecast(w, horizons: 1, quantiles: [0.1, 0.5, 0.9], state: &state)
        let width = first[0][2] - first[0][0]
        #expect(width > 1, "the alternating history gives a real interval")
        #expect(abs((adjusted[0][2] - base[0][2]) - 0.1 * width * 0.9) < 1e-4, "P90 exceeded: up by η·width·0.9")
        // The forecast's model id says which step it was (a backtest may score both).
        #expect(f.id == "empirical_quantiles-28+aci-width")
        #expect(ConformalRecalibrator(inner: inner, step: 0.1).id == "empirical_quantiles-28+aci")
    }
}
