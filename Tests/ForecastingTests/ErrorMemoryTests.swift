import Foundation
import NeuralNet
import Testing
@testable import Forecasting

/// The error memory's entries (docs/online.md): median errors, and with `memoryQuantiles` the
/// per-quantile exceedance signals; model files with and without it.
struct ErrorMemoryTests {
    /// As the streamcast process does at its start (BLAS.useOneThread says why).
    init() { BLAS.useOneThread() }

    static func config(quantiles: Bool) -> MQConfig {
        var c = MQConfig()
        c.horizons = 2
        c.memoryQuantiles = quantiles
        return c
    }

    @Test func anEntrySaysHowFarAndOnWhichSideEachActualFell() {
        // Base forecast for horizons 1 and 2: quantiles (2, 4, 9) and (3, 5, 6); horizon 2 still open.
        let quantileMemory = ErrorMemory(config: Self.config(quantiles: true))
        let x = quantileMemory.input(base: [2, 4, 9, 3, 5, 6], age: 1, scale: 2) { $0 == 0 ? 7 : nil }
        // Median error (7 − 4) / 2, horizon 2 unknown; known flags; then y = 7 against 2, 4, 9:
        // above P10 and P50 (signal q), below P90 (signal −(1 − q)); horizon 2's signals stay 0.
        let expected: [Float] = [1.5, 0, 1, 0, 0.1, 0.5, -0.1, 0, 0, 0]
        #expect(x.count == 10)
        for (a, b) in zip(x, expected) { #expect(abs(a - b) < 1e-6, "\(x)") }
        // Median-only memory: the same median error and flags, nothing else.
        let medianMemory = ErrorMemory(config: Self.config(quantiles: false))
        #expect(medianMemory.input(base: [4, 5], age: 1, scale: 2) { $0 == 0 ? 7 : nil } == [1.5, 0, 1, 0])
        // With ages: one more input, the entry's age over R (R = 4 by default).
        var aged = Self.config(quantiles: false)
        aged.memoryAge = true
        #expect(ErrorMemory(config: aged).input(base: [4, 5], age: 3, scale: 2) { $0 == 0 ? 7 : nil } == [1.5, 0, 1, 0, 0.75])
        // The blank-errors ablation zeroes what the forecasts missed by, keeps the flags and the age.
        #expect(ErrorMemory(config: aged).blanked([1.5, 0, 1, 0, 0.75]) == [0, 0, 1, 0, 0.75])
        #expect(quantileMemory.blanked(x) == [0, 0, 1, 0, 0, 0, 0, 0, 0, 0])
        // Calibrated on average: y drawn across the quantiles' levels gives signals that sum to ~0.
        let ys: [Float] = (0..<1000).map { Float($0) / 100 }  // uniform on [0, 10): quantiles 1, 5, 9
        var sums = [Float](repeating: 0, count: 3)
        for y in ys {
            let e = quantileMemory.input(base: [1, 5, 9, 1, 5, 9], age: 1, scale: 1) { _ in y }
            for j in 0..<3 { sums[j] += e[4 + j] }
        }
        for s in sums { #expect(abs(s / 1000) < 0.01, "\(sums)") }
    }

    @Test func pastForecastsAreAlignedToTheCurrentTargets() {
        var c = Self.config(quantiles: false)
        c.horizons = 3
        c.memoryForecasts = true
        let memory = ErrorMemory(config: c)
        #expect(c.memoryBaseWidth == 6 && c.memoryWidth == 12)
        // Kept: base medians (10, 11, 12), then final medians (20, 22, 24), in units; scale 2.
        // Age 1: its horizon 1 has closed (actual 13); the current horizons 1 and 2 are its 2 and 3.
        let x = memory.input(base: [10, 11, 12, 20, 22, 24], age: 1, scale: 2) { $0 == 0 ? 13 : nil }
        #expect(x == [1.5, 0, 0, 1, 0, 0, 11, 12, 0, 1, 1, 0])
        // Age 2: only the current horizon 1 (its 3) is still ahead.
        #expect(memory.input(base: [10, 11, 12, 20, 22, 24], age: 2, scale: 2) { _ in nil }[6...] == [12, 0, 0, 1, 0, 0])
        // blank-errors keeps the past forecasts (they are not what the forecasts missed by).
        #expect(memory.blanked(x) == [0, 0, 0, 1, 0, 0, 11, 12, 0, 1, 1, 0])
        #expect(memory.layout == "error-memory R=4 H=3 medians+forecasts")
        // An entry keeps the final forecast's medians after the base's.
        let base = Matrix(rows: 3, cols: 3, data: [1, 2, 3, 4, 5, 6, 7, 8, 9]), final = Matrix(rows: 3, cols: 3, data: (1...9).map { Float($0) * 10 })
        #expect(memory.keep(base: base, final: final, example: 0, scale: 0.5) == [1, 2.5, 4, 10, 25, 40])
    }

    @Test func stateRoundTripsAndAnotherWidthReadsAsEmpty() {
        let memory = ErrorMemory(config: Self.config(quantiles: true))
        let entries: [(fct: Int64, base: [Float])] = [(41, [1, 2, 3, 4, 5, 6]), (40, [0.5, 1, 1.5, 2, 2.5, 3])]
        let bytes = memory.encode(entries)
        #expect(bytes.count == 2 * (8 + 4 * 6))
        let back = memory.decode(bytes)
        #expect(back.map(\.fct) == [41, 40] && back.map(\.base) == entries.map(\.base))
        // A median-only model's state (8 + 4·2 bytes an entry) is not misread as quantiles.
        #expect(memory.decode(ErrorMemory(config: Self.config(quantiles: false)).encode([(41, [1, 2])])).isEmpty)
    }

    @Test func modelFilesKeepTheSwitchAndOlderFilesLoadWithoutIt() throws {
        var c = MQConfig()
        c.memoryQuantiles = true
        let model = MQModel(network: MQNetwork(c, seed: 3), period: .day, holidays: [], id: "q")
        let path = NSTemporaryDirectory() + "memq-\(UUID().uuidString).safetensors"
        try model.save(to: path)
        let loaded = try MQModel.load(from: path)
        #expect(loaded.network.config.memoryQuantiles && loaded.network.config.memoryWidth == 2 * 4 + 4 * 3)
        // A config written before the key existed decodes as median-only.
        var json = try JSONSerialization.jsonObject(with: JSONEncoder().encode(MQConfig())) as! [String: Any]
        for key in ["memoryQuantiles", "memoryAge", "memoryForecasts"] { json.removeValue(forKey: key) }
        let old = try JSONDecoder().decode(MQConfig.self, from: JSONSerialization.data(withJSONObject: json))
        #expect(!old.memoryQuantiles && old == MQConfig())
        // A running median-memory model is not replaced by a quantile-memory one (the state would change meaning).
        let plain = MQModel(network: MQNetwork(MQConfig(), seed: 3), period: .day, holidays: [], id: "p")
        #expect(loaded.incompatibility(replacing: plain, windowLength: 56, quantiles: [0.5])?.contains("is error-memory R=4 H=4 quantiles=3, the serving model's error-memory R=4 H=4 medians") == true)
        #expect(plain.incompatibility(replacing: plain, windowLength: 56, quantiles: [0.5]) == nil)
        var f = MQConfig()
        f.memoryForecasts = true
        let withForecasts = MQModel(network: MQNetwork(f, seed: 3), period: .day, holidays: [], id: "f")
        #expect(withForecasts.incompatibility(replacing: plain, windowLength: 56, quantiles: [0.5])?.contains("is error-memory R=4 H=4 medians+forecasts, the serving model's error-memory R=4 H=4 medians") == true)
        // Ages are derived from the stored FCTs: a model that reads them takes over the same state.
        var aged = MQConfig()
        aged.memoryAge = true
        #expect(MQModel(network: MQNetwork(aged, seed: 3), period: .day, holidays: [], id: "a").incompatibility(replacing: plain, windowLength: 56, quantiles: [0.5]) == nil)
    }

    @Test func forecastersNameTheirStateLayout() {
        var c = MQConfig()
        let medians = MQForecaster(model: MQModel(network: MQNetwork(c, seed: 1), period: .day, holidays: [], id: "m"), threads: 1)
        c.memoryQuantiles = true
        let quantiles = MQForecaster(model: MQModel(network: MQNetwork(c, seed: 1), period: .day, holidays: [], id: "q"), threads: 1)
        #expect(medians.stateLayout == "error-memory R=4 H=4 medians" && quantiles.stateLayout == "error-memory R=4 H=4 quantiles=3")
        // Recalibration finds its own trailer, so it keeps the inner layout (switching it keeps the memory).
        #expect(ConformalRecalibrator(inner: medians, step: 0.05).stateLayout == medians.stateLayout)
        #expect(SeasonalNaiveForecaster(season: 7).stateLayout == "")
    }
}
