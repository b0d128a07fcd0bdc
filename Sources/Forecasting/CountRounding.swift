import Foundation
import NeuralNet

/// Whole-unit quantiles for count data, with the rounding point fitted on the held-out tail.
///
/// Why: when demand is a count, the expected pinball loss of a forecast ŷ is linear in ŷ between
/// two integers (the chance that y ≤ ŷ does not change there), so a fractional quantile is never
/// better than one of its two integer neighbours. Which neighbour is right depends on how the
/// network's continuous output sits against the discrete distribution, so the rounding point
/// θ is fitted per quantile on held-out data: ŷ → ⌈ŷ − θ⌉ (θ = 0.5 is ordinary rounding). For
/// intermittent demand (carparts: 75 % zeros) this is where the P90 is decided.
public struct CountRounding: Sendable, Equatable {
    /// Per model quantile (the network's quantile order): θ in (0, 1), or nil to keep that
    /// quantile continuous (rounding did not help it on the held-out data).
    public var thresholds: [Float?]

    public init(thresholds: [Float?]) { self.thresholds = thresholds }

    /// ⌈v − θ_j⌉ for a non-negative forecast `v` of model quantile `j`.
    @inline(__always) public func apply(_ v: Float, column j: Int) -> Float {
        guard j < thresholds.count, let theta = thresholds[j] else { return v }
        return Self.round(v, at: theta)
    }

    /// ⌈v − θ⌉, never below 0: the one rounding rule (members, ensembles, the fit).
    @inline(__always) public static func round(_ v: Float, at theta: Float) -> Float {
        max(0, (v - theta).rounded(.up))
    }

    /// Candidate rounding points: 0.05, 0.10, …, 0.95.
    static let candidates: [Float] = (1...19).map { Float($0) / 20 }

    /// Fits θ per quantile to (forecast, actual) cells: the candidate with the least pinball loss,
    /// kept only where it beats the continuous forecast. nil if no quantile gains.
    public static func fit(forecasts: [[Float]], actuals: [Float], quantiles: [Double]) -> CountRounding? {
        var thresholds: [Float?] = []
        for (j, level) in quantiles.enumerated() {
            let q = Float(level)
            func loss(_ f: (Float) -> Float) -> Double {
                var total = 0.0
                for (row, y) in zip(forecasts, actuals) {
                    let d = y - f(row[j])
                    total += Double(max(q * d, (q - 1) * d))
                }
                return total
            }
            let raw = loss { $0 }
            let best = candidates.map { theta in (theta, loss { round($0, at: theta) }) }.min { $0.1 < $1.1 }!
            thresholds.append(best.1 < raw ? best.0 : nil)
        }
        return thresholds.contains { $0 != nil } ? CountRounding(thresholds: thresholds) : nil
    }

    /// Metadata form: "0.4,-,0.55" ("-": continuous).
    public var encoded: String { thresholds.map { $0.map { String($0) } ?? "-" }.joined(separator: ",") }

    public init?(encoded: String) {
        let parts = encoded.split(separator: ",")
        guard !parts.isEmpty else { return nil }
        var thresholds: [Float?] = []
        for p in parts {
            if p == "-" { thresholds.append(nil); continue }
            guard let v = Float(p), v > 0, v < 1 else { return nil }
            thresholds.append(v)
        }
        self.thresholds = thresholds
    }
}

extension MQTrainer {
    /// Whether every period's demand in the training data is a whole number (counts).
    public static func isCountData(_ series: [ProductSeries]) -> Bool {
        series.allSatisfy { s in s.units.allSatisfy { $0 == $0.rounded() } }
    }

    /// Fits whole-unit rounding on the held-out FCTs (the trained weights, memory as in
    /// validation); nil when the data are not counts, nothing is held out, or rounding does not
    /// help any quantile.
    public func fitCountRounding(_ series: [ProductSeries], cutoff: Int64) -> CountRounding? {
        let validation = split(series, cutoff: cutoff, holdOut: true).validation
        guard Self.isCountData(series), !validation.isEmpty else { return nil }
        let c = network.config, H = c.horizons
        refreshBaseForecasts(remembered(validation), series: series)
        var forecasts: [[Float]] = [], actuals: [Float] = []
        for from in stride(from: 0, to: validation.count, by: 512) {
            let chunk = validation[from..<min(from + 512, validation.count)]
            let (x, scales) = features.batch(chunk.map { example($0.0, series[$0.0], t: $0.1).input })
            let (final, _) = network.forward(x)
            for (e, pair) in chunk.enumerated() {
                for k in 0..<H where pair.1 + 1 + k < series[pair.0].units.count {
                    forecasts.append((0..<c.quantiles.count).map { max(0, final[e * H + k, $0] * scales[e]) })
                    actuals.append(series[pair.0].units[pair.1 + 1 + k])
                }
            }
        }
        return CountRounding.fit(forecasts: forecasts, actuals: actuals, quantiles: c.quantiles)
    }
}
