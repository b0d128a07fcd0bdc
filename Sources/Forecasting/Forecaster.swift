import Windows

/// What every forecaster answers: for one product's window, the quantiles of each of the next H
/// periods. Implementations: the baselines here and the neural model (its own module).
///
/// `state` is the forecaster's per-product memory (e.g. the error memory of the feedback-aware
/// model), owned by the caller and checkpointed with the window; baselines keep none.
public protocol Forecaster: Sendable {
    /// Goes into the `model` field of every forecast message.
    var id: String { get }
    /// Closed periods of history the forecaster reads (the windows keep at least this many).
    var contextLength: Int { get }
    /// What its per-product state bytes mean ("" for none). The checkpoint keeps it and clears
    /// the states when a restart brings a forecaster whose layout differs.
    var stateLayout: String { get }
    /// Returns H rows of Q values, non-decreasing across quantiles.
    func forecast(_ window: ProductWindow, horizons: Int, quantiles: [Double], state: inout [UInt8]) -> [[Float]]
    /// Many products at once. A requirement (not only an extension method) so that calls through
    /// `any Forecaster` — the processor's, a wrapper's — reach a type's own batched path.
    func forecastBatch(_ windows: [ProductWindow], horizons: Int, quantiles: [Double], states: inout [[UInt8]]) -> [[[Float]]]
}

extension Forecaster {
    public var contextLength: Int { 0 }
    public var stateLayout: String { "" }

    /// Many products at once (a period close refreshes every product of a partition). The default
    /// asks one at a time; the neural forecaster answers with one forward pass per batch.
    public func forecastBatch(_ windows: [ProductWindow], horizons: Int, quantiles: [Double], states: inout [[UInt8]]) -> [[[Float]]] {
        windows.indices.map { forecast(windows[$0], horizons: horizons, quantiles: quantiles, state: &states[$0]) }
    }
}

extension Forecaster {
    /// One product as a batch of one: the `forecast` of forecasters whose real path is the batch
    /// (the neural model, its wrappers), so each has one implementation.
    public func forecastAsBatch(_ window: ProductWindow, horizons: Int, quantiles: [Double], state: inout [UInt8]) -> [[Float]] {
        var states = [state]
        defer { state = states[0] }
        return forecastBatch([window], horizons: horizons, quantiles: quantiles, states: &states)[0]
    }
}

/// Forecasters by name, as the configuration names them.
public enum Forecasters {
    public static let names = ["seasonal_naive", "empirical_quantiles"]

    public static func make(_ name: String, period: Period) -> (any Forecaster)? {
        switch name {
        case "seasonal_naive": SeasonalNaiveForecaster(season: period.season)
        case "empirical_quantiles": EmpiricalQuantileForecaster()
        default: nil
        }
    }
}

/// Linear-interpolated sample quantile (numpy's default "linear"), on sorted values.
public func sampleQuantile(_ sorted: [Float], _ q: Double) -> Float {
    guard !sorted.isEmpty else { return 0 }
    let pos = q * Double(sorted.count - 1)
    let lo = Int(pos.rounded(.down))
    let hi = min(lo + 1, sorted.count - 1)
    let frac = Float(pos - Double(lo))
    return sorted[lo] + (sorted[hi] - sorted[lo]) * frac
}

/// Sorts each row's quantiles (they must not cross) and clips at zero (demand forecasts).
func tidy(_ rows: [[Float]]) -> [[Float]] {
    rows.map { row in row.map { max(0, $0) }.sorted() }
}
