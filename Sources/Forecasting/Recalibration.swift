import Windows

/// Online recalibration: an adaptive conformal quantile tracker per product and quantile level
/// (Angelopoulos, Candès & Tibshirani 2023, "Conformal PID control", the "quantile tracking" part;
/// Gibbs & Candès 2021 for the adaptive step). Wraps any forecaster.
///
/// For each level q the product keeps an offset θ_q (in units). When period t closes, the actual
/// y_t is compared with the one-step-ahead value this wrapper emitted at t−1:
///     θ_q ← θ_q + η·s·(1{y_t > ŷ_q} − (1 − q))
/// so a quantile that is exceeded more often than 1 − q of the time moves up, and one that is
/// exceeded less often moves down; realised coverage converges to q whatever the drift, at a speed
/// set by η. s = 1 + mean of the recent units makes η scale-free (with `stepScale: .width`, s is
/// the width of the interval emitted for t instead, so η also means the same for smooth and noisy
/// series). Every horizon of the next forecast is shifted by the same θ_q (a level error is shared
/// by all horizons), then clipped at zero and sorted so quantiles never cross.
///
/// State: the inner forecaster's bytes, then a fixed trailer
/// [fct Int64][last one-step values Q×f32][θ Q×f32]["ACI1"], so switching recalibration on for a
/// running service keeps the inner state (a state without the trailer starts at θ = 0).
public final class ConformalRecalibrator: Forecaster, Sendable {
    public let inner: any Forecaster
    /// η: the step per miss, in units of the product's scale.
    public let step: Float
    /// What one step is relative to: the product's level s (the default), or the width of the
    /// interval it emitted for the period (P_max − P_min, at least 0.1·s), which makes η mean the
    /// same for smooth and noisy series (docs/online.md).
    public enum StepScale: String, Sendable { case level, width }
    public let stepScale: StepScale
    static let magic: [UInt8] = Array("ACI1".utf8)

    public init(inner: any Forecaster, step: Float, stepScale: StepScale = .level) {
        self.inner = inner
        self.step = step
        self.stepScale = stepScale
    }

    /// "+aci" for level steps (as since the start), "+aci-width" for width steps: one backtest
    /// may score both, and a forecast's `model` field should say which one made it.
    public var id: String { inner.id + (stepScale == .level ? "+aci" : "+aci-width") }
    public var contextLength: Int { inner.contextLength }
    /// The inner layout: the trailer finds itself (its magic), so switching recalibration on or off keeps the memory.
    public var stateLayout: String { inner.stateLayout }

    struct Trailer {
        var fct: Int64 = .min
        var last: [Float]
        var theta: [Float]

        static func size(quantiles: Int) -> Int { 8 + 8 * quantiles + 4 }

        /// Splits a state into the inner bytes and the trailer (a fresh one if there is none).
        static func split(_ state: [UInt8], quantiles q: Int) -> (inner: [UInt8], trailer: Trailer) {
            let n = size(quantiles: q)
            guard state.count >= n, Array(state.suffix(4)) == ConformalRecalibrator.magic else {
                return (state, Trailer(last: Array(repeating: 0, count: q), theta: Array(repeating: 0, count: q)))
            }
            var reader = ByteReader(Array(state[(state.count - n)...]))
            let fct = (try? reader.i64()) ?? .min
            let values = (0..<(2 * q)).map { _ in (try? reader.f32()) ?? 0 }
            return (Array(state.prefix(state.count - n)),
                    Trailer(fct: fct, last: Array(values[..<q]), theta: Array(values[q...])))
        }

        func append(to state: inout [UInt8]) {
            var w = ByteWriter()
            w.i64(fct)
            for v in last + theta { w.f32(v) }
            state += w.bytes + ConformalRecalibrator.magic
        }
    }

    public func forecast(_ window: ProductWindow, horizons: Int, quantiles: [Double], state: inout [UInt8]) -> [[Float]] {
        forecastAsBatch(window, horizons: horizons, quantiles: quantiles, state: &state)
    }

    public func forecastBatch(_ windows: [ProductWindow], horizons: Int, quantiles: [Double], states: inout [[UInt8]]) -> [[[Float]]] {
        let q = quantiles.count
        var trailers: [Trailer] = []
        var innerStates: [[UInt8]] = []
        for (b, window) in windows.enumerated() {
            var (innerState, t) = Trailer.split(states[b], quantiles: q)
            let recent = window.recent(.units, count: 32)
            // The actual of the period that just closed against what was emitted for it.
            if t.fct == window.lastClosed - 1, let y = recent.last {
                let level = 1 + recent.reduce(0, +) / Float(max(recent.count, 1))
                let scale = stepScale == .level ? level : max((t.last.last ?? 0) - (t.last.first ?? 0), 0.1 * level)
                for j in 0..<q {
                    let miss: Float = y > t.last[j] ? 1 : 0
                    t.theta[j] += step * scale * (miss - Float(1 - quantiles[j]))
                }
            }
            trailers.append(t)
            innerStates.append(innerState)
        }
        let raw = inner.forecastBatch(windows, horizons: horizons, quantiles: quantiles, states: &innerStates)
        var out: [[[Float]]] = []
        for b in windows.indices {
            let rows = tidy(raw[b].map { row in zip(row, trailers[b].theta).map { $0 + $1 } })
            trailers[b].fct = windows[b].lastClosed
            trailers[b].last = rows.first ?? trailers[b].last
            var state = innerStates[b]
            trailers[b].append(to: &state)
            states[b] = state
            out.append(rows)
        }
        return out
    }
}
