import Windows

/// Per-product empirical quantiles of the last `lookback` closed periods, the same for every horizon.
/// A product with no closed period yet (cold start) gets zeros.
public struct EmpiricalQuantileForecaster: Forecaster {
    public let lookback: Int
    public var id: String { "empirical_quantiles-\(lookback)" }

    public init(lookback: Int = 28) { self.lookback = lookback }

    public func forecast(_ window: ProductWindow, horizons: Int, quantiles: [Double], state: inout [UInt8]) -> [[Float]] {
        let history = window.recent(.units, count: lookback).sorted()
        let row = quantiles.map { sampleQuantile(history, $0) }
        return tidy(Array(repeating: row, count: horizons))
    }
}

/// Seasonal naive with empirical residual quantiles: the median is the value one season ago; the
/// other quantiles add the empirical quantiles of the seasonal differences y_t − y_{t−m} seen in
/// the window, widened by √(seasons ahead) for horizons beyond one season. Falls back to the naive
/// (m = 1) model while the window holds less than two seasons.
public struct SeasonalNaiveForecaster: Forecaster {
    public let season: Int
    public var id: String { "seasonal_naive-\(season)" }

    public init(season: Int) { self.season = season }

    public func forecast(_ window: ProductWindow, horizons: Int, quantiles: [Double], state: inout [UInt8]) -> [[Float]] {
        let y = window.recent(.units)
        guard !y.isEmpty else { return Array(repeating: Array(repeating: 0, count: quantiles.count), count: horizons) }
        let m = y.count >= 2 * season ? season : 1
        var residuals: [Float] = []
        if y.count > m {
            residuals.reserveCapacity(y.count - m)
            for t in m..<y.count { residuals.append(y[t] - y[t - m]) }
            residuals.sort()
        }
        let offsets = quantiles.map { residuals.isEmpty ? 0 : sampleQuantile(residuals, $0) }
        let n = y.count
        var rows: [[Float]] = []
        rows.reserveCapacity(horizons)
        for h in 1...max(horizons, 1) {
            let cycles = (h + m - 1) / m
            let point = y[n - 1 + h - cycles * m]
            let widen = Float(Double(cycles).squareRoot())
            rows.append(offsets.map { point + $0 * widen })
        }
        return tidy(Array(rows.prefix(horizons)))
    }
}
