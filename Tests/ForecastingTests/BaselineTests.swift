import Events
import Forecasting
import Testing
@testable import Windows

/// A window whose closed periods hold `units` (oldest first).
func window(_ units: [Float], length: Int = 64) -> ProductWindow {
    var w = PartitionWindows(partition: 0, config: WindowConfig(period: .day, length: length, lateness: 0))
    let start = Timestamp.parse("2024-01-01T00:00:00Z")!
    for (d, u) in units.enumerated() {
        _ = w.ingest(Event(kind: .sale, product: "A", time: start + Int64(d) * 86_400_000 + 1, quantity: Double(u)), input: "s")
    }
    _ = w.ingest(Event(kind: .pageView, product: "A", time: start + Int64(units.count) * 86_400_000 + 1, quantity: 1), input: "s")
    while w.closeNext({ _, _ in }) != nil {}
    return w.product("A")!
}

@Suite struct BaselineTests {
    @Test func seasonalNaiveRepeatsLastSeasonAndWidensWithResiduals() {
        // Two weeks of a clean weekly pattern, then a third with +1 noise on two days.
        let week: [Float] = [1, 2, 3, 4, 5, 6, 7]
        var y = week + week + week
        y[19] += 1
        y[20] += 1
        var state: [UInt8] = []
        let f = SeasonalNaiveForecaster(season: 7).forecast(window(y), horizons: 9, quantiles: [0.1, 0.5, 0.9], state: &state)
        #expect(f.count == 9)
        // Median of h = 1..7 is last week's value; h = 8 wraps to the same weekday again.
        #expect(f.prefix(7).map { $0[1] } == [1, 2, 3, 4, 5, 7, 8])
        #expect(f[7][1] == 1)
        // Residuals y_t − y_{t−7}: twelve 0s and two 1s → P90 offset 0.7, P10 = 0.
        #expect(f[0][0] == 1 && abs(f[0][2] - 1.7) < 1e-5)
        for row in f { #expect(row == row.sorted()) }
    }

    @Test func naiveFallbackWithShortHistoryAndColdStart() {
        var state: [UInt8] = []
        let short = SeasonalNaiveForecaster(season: 7).forecast(window([5, 5, 5]), horizons: 3, quantiles: [0.5], state: &state)
        #expect(short.map { $0[0] } == [5, 5, 5])
        let cold = SeasonalNaiveForecaster(season: 7).forecast(window([]), horizons: 2, quantiles: [0.1, 0.9], state: &state)
        #expect(cold == [[0, 0], [0, 0]])
    }

    @Test func empiricalQuantilesMatchNumpyLinear() {
        var state: [UInt8] = []
        let f = EmpiricalQuantileForecaster(lookback: 5).forecast(window([100, 1, 2, 3, 4, 5]), horizons: 2, quantiles: [0.1, 0.5, 0.9], state: &state)
        // numpy.quantile([1,2,3,4,5], [.1,.5,.9]) = [1.4, 3, 4.6]
        #expect(f[0].map { ($0 * 10).rounded() / 10 } == [1.4, 3, 4.6])
        #expect(f[1] == f[0])
    }

    @Test func forecastMessageMatchesTheContract() {
        let w = window([1, 2, 3])
        let m = ForecastMessage(window: w, period: .day, quantiles: [0.1, 0.5, 0.9], values: [[1, 2.5, 4], [0, 2, 3]], model: "m1")
        #expect(m.json == #"{"schema":1,"product":"A","period":"day","fct":"2024-01-03T00:00:00Z","quantiles":[0.1,0.5,0.9],"targets":[{"start":"2024-01-04T00:00:00Z","q":[1,2.5,4]},{"start":"2024-01-05T00:00:00Z","q":[0,2,3]}],"model":"m1"}"#)
    }
}
