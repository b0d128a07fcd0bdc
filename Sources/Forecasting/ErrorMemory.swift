import NeuralNet

/// The error memory (model.md, step 5), built by the same code in training and serving: what an
/// entry keeps of a past forecast, how the actuals that have closed since turn it into the
/// feedback attention's input, and the per-product state bytes.
public struct ErrorMemory: Sendable {
    public let config: MQConfig
    /// The median's column among the quantiles (QuantileHead.median).
    let median: Int

    public init(config: MQConfig) {
        self.config = config
        median = QuantileHead.medianIndex(config.quantiles)
    }

    /// What an entry keeps of example e's forecast (rows e·H + k of `base` and `final`, in units of
    /// `scale`): the base forecast's H medians, or H × Q quantiles (k-major) with `memoryQuantiles`
    /// [, then the final forecast's H medians with `memoryForecasts`]; in units.
    func keep(base: Matrix, final: Matrix, example e: Int, scale: Float) -> [Float] {
        let H = config.horizons, Q = config.quantiles.count
        var kept = config.memoryQuantiles ? (0..<(H * Q)).map { i in base[e * H + i / Q, i % Q] * scale }
                                           : (0..<H).map { base[e * H + $0, median] * scale }
        if config.memoryForecasts { kept += finalMedians(final, example: e, scale: scale) }
        return kept
    }

    /// The feedback attention's input for one entry made `age` periods ago: its kept values against
    /// `actual(k)`, the realised value of its horizon k (nil while that period is open), in units of
    /// `scale`. Layout: H median errors, H known flags [, H × Q signals 1{y > ŷ⁰_q} − (1 − q)]
    /// [, H past forecasts, H present flags] [, age / R]. The past forecasts are aligned to the
    /// current FCT's horizons: slot k holds what the entry forecast for the current horizon k's
    /// target (its own horizon k + age), present while that is within its H.
    func input(base: [Float], age: Int, scale: Float, actual: (Int) -> Float?) -> [Float] {
        let H = config.horizons, Q = config.quantiles.count
        let at = inputOffsets
        var out = [Float](repeating: 0, count: config.memoryWidth)
        if config.memoryAge { out[out.count - 1] = Float(age) / Float(config.memory) }
        for k in 0..<H {
            if config.memoryForecasts, k + age < H {
                out[at.forecasts + k] = base[at.keptFinals + k + age] / scale
                out[at.forecasts + H + k] = 1
            }
            guard let y = actual(k) else { continue }
            let medianValue = config.memoryQuantiles ? base[k * Q + median] : base[k]
            out[k] = (y - medianValue) / scale
            out[H + k] = 1
            guard config.memoryQuantiles else { continue }
            for j in 0..<Q {
                out[at.signals + k * Q + j] = (y > base[k * Q + j] ? 1 : 0) - Float(1 - config.quantiles[j])
            }
        }
        return out
    }

    /// Where the optional parts start: in an input (signals, forecasts) and in a kept entry (finals).
    var inputOffsets: (signals: Int, forecasts: Int, keptFinals: Int) {
        (2 * config.horizons, config.memoryForecastsOffset, config.memoryBaseForecastWidth)
    }

    /// The same entry with its errors and signals zeroed, known flags, past forecasts and age kept:
    /// what the network makes of "there were forecasts" without what they missed by (an ablation
    /// that separates the errors' information from the feedback path itself).
    func blanked(_ input: [Float]) -> [Float] {
        let H = config.horizons, at = inputOffsets
        var out = input
        for i in 0..<H { out[i] = 0 }
        for i in at.signals..<at.forecasts { out[i] = 0 }
        return out
    }

    /// Example e's final medians in units (the stability penalty's anchors for the next FCT).
    func finalMedians(_ final: Matrix, example e: Int, scale: Float) -> [Float] {
        (0..<config.horizons).map { final[e * config.horizons + $0, median] * scale }
    }

    /// What the state bytes mean (`Forecaster.stateLayout`): a state of another layout would be misread.
    public var layout: String {
        "error-memory R=\(config.memory) H=\(config.horizons) " + (config.memoryQuantiles ? "quantiles=\(config.quantiles.count)" : "medians")
            + (config.memoryForecasts ? "+forecasts" : "")
    }

    /// An empty entry (no forecast that far back): every horizon unknown.
    var empty: [Float] { [Float](repeating: 0, count: config.memoryWidth) }

    /// State layout: up to R entries of (FCT period Int64, memoryBaseWidth f32), newest first.
    /// A state of another width (written by a model with another memory) reads as empty.
    func decode(_ state: [UInt8]) -> [(fct: Int64, base: [Float])] {
        let width = config.memoryBaseWidth, entry = 8 + 4 * width
        guard state.count % entry == 0 else { return [] }
        return stride(from: 0, to: state.count, by: entry).map { at in
            let fct = state[at..<(at + 8)].enumerated().reduce(Int64(0)) { $0 | Int64($1.element) << (8 * $1.offset) }
            let base = (0..<width).map { k in
                Float(bitPattern: state[(at + 8 + 4 * k)..<(at + 12 + 4 * k)].enumerated().reduce(UInt32(0)) { $0 | UInt32($1.element) << (8 * $1.offset) })
            }
            return (fct, base)
        }
    }

    func encode(_ entries: [(fct: Int64, base: [Float])]) -> [UInt8] {
        var out: [UInt8] = []
        for e in entries {
            withUnsafeBytes(of: e.fct.littleEndian) { out.append(contentsOf: $0) }
            for v in e.base { withUnsafeBytes(of: v.bitPattern.littleEndian) { out.append(contentsOf: $0) } }
        }
        return out
    }
}
