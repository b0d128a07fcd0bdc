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
///
/// Many products sell in packs (a car part 0 or 5 at a time, another in 2s): then the loss is
/// linear between multiples of the pack, and a P90 of 2.6 for a part that sells 0 or 5 is worse
/// than either. With `packs`, each product's grid is the greatest common divisor of its sales
/// in the context (1 when it sold single units, or nothing): ŷ → g·⌈ŷ/g − θ⌉.
public struct CountRounding: Sendable, Equatable {
    /// Per model quantile (the network's quantile order): θ in (0, 1), or nil to keep that
    /// quantile continuous (rounding did not help it on the held-out data).
    public var thresholds: [Float?]
    /// Round onto multiples of each product's pack size instead of whole units.
    public var packs: Bool

    public init(thresholds: [Float?], packs: Bool = false) {
        self.thresholds = thresholds
        self.packs = packs
    }

    /// g·⌈v/g − θ_j⌉ for a non-negative forecast `v` of model quantile `j`; `pack` is the
    /// product's pack size (`packSize`), used only when this rounding is by packs.
    @inline(__always) public func apply(_ v: Float, column j: Int, pack: Float = 1) -> Float {
        guard j < thresholds.count, let theta = thresholds[j] else { return v }
        return Self.round(v, at: theta, unit: packs ? pack : 1)
    }

    /// unit·⌈v/unit − θ⌉, never below 0: the one rounding rule (members, ensembles, the fit).
    @inline(__always) public static func round(_ v: Float, at theta: Float, unit: Float = 1) -> Float {
        unit * max(0, (v / unit - theta).rounded(.up))
    }

    /// A product's pack size: the greatest common divisor of its positive sales (whole numbers);
    /// 1 when it sold nothing or anything fractional.
    public static func packSize(_ units: some Sequence<Float>) -> Float {
        var g = 0
        for u in units where u > 0 {
            guard u == u.rounded(), u < 1e9 else { return 1 }
            var a = g, b = Int(u)
            while b != 0 { (a, b) = (b, a % b) }
            g = a
            if g == 1 { return 1 }
        }
        return g > 0 ? Float(g) : 1
    }

    /// Candidate rounding points: 0.05, 0.10, …, 0.95.
    static let candidates: [Float] = (1...19).map { Float($0) / 20 }

    /// Fits θ per quantile to (forecast, actual) cells: the candidate with the least pinball loss,
    /// kept only where it beats the continuous forecast. With `packs` (each cell's product's pack
    /// size) both grids are fitted and the one with the lower held-out loss is kept (whole units
    /// on a tie). nil if no quantile gains.
    public static func fit(forecasts: [[Float]], actuals: [Float], packs: [Float]? = nil, quantiles: [Double]) -> CountRounding? {
        func fitGrid(_ units: [Float]?) -> (rounding: CountRounding, loss: Double) {
            var thresholds: [Float?] = [], total = 0.0
            for (j, level) in quantiles.enumerated() {
                let q = Float(level)
                func loss(_ f: (Float, Float) -> Float) -> Double {
                    var sum = 0.0
                    for (i, (row, y)) in zip(forecasts, actuals).enumerated() {
                        sum += Double(PinballLoss.rho(q, y - f(row[j], units?[i] ?? 1)))
                    }
                    return sum
                }
                let raw = loss { v, _ in v }
                let best = candidates.map { theta in (theta, loss { round($0, at: theta, unit: $1) }) }.min { $0.1 < $1.1 }!
                thresholds.append(best.1 < raw ? best.0 : nil)
                total += min(best.1, raw)
            }
            return (CountRounding(thresholds: thresholds, packs: units != nil), total)
        }
        var chosen = fitGrid(nil)
        if let packs, packs.contains(where: { $0 != 1 }) {
            let byPacks = fitGrid(packs)
            if byPacks.loss < chosen.loss { chosen = byPacks }
        }
        return chosen.rounding.thresholds.contains { $0 != nil } ? chosen.rounding : nil
    }

    /// Metadata form: "0.4,-,0.55" ("-": continuous), prefixed "packs:" when by packs.
    public var encoded: String {
        (packs ? "packs:" : "") + thresholds.map { $0.map { String($0) } ?? "-" }.joined(separator: ",")
    }

    public init?(encoded: String) {
        var text = Substring(encoded)
        let packs = text.hasPrefix("packs:")
        if packs { text = text.dropFirst("packs:".count) }
        let parts = text.split(separator: ",")
        guard !parts.isEmpty else { return nil }
        var thresholds: [Float?] = []
        for p in parts {
            if p == "-" { thresholds.append(nil); continue }
            guard let v = Float(p), v > 0, v < 1 else { return nil }
            thresholds.append(v)
        }
        self.init(thresholds: thresholds, packs: packs)
    }
}

extension MQTrainer {
    /// Whether every period's demand in the training data is a whole number (counts).
    public static func isCountData(_ series: [ProductSeries]) -> Bool {
        series.allSatisfy { s in s.units.allSatisfy { $0 == $0.rounded() } }
    }

    /// Fits whole-unit (or whole-pack) rounding to the held-out cells, as served (after `blend`,
    /// if the model has one); nil when the data are not counts, nothing is held out, or rounding
    /// does not help any quantile.
    public func fitCountRounding(_ series: [ProductSeries], cells: HeldOutCells, blend: EmpiricalBlend? = nil) -> CountRounding? {
        guard Self.isCountData(series) else { return nil }
        guard !cells.actuals.isEmpty else { return nil }
        let c = network.config
        var forecasts = cells.forecasts
        if let blend {
            for (i, history) in cells.history.enumerated() {
                let empirical = blend.empirical(history, levels: c.quantiles)
                for j in forecasts[i].indices { forecasts[i][j] = blend.apply(forecasts[i][j], empirical[j], column: j) }
            }
        }
        let packs = cells.history.map { CountRounding.packSize($0.suffix(c.context)) }
        return CountRounding.fit(forecasts: forecasts, actuals: cells.actuals, packs: packs, quantiles: c.quantiles)
    }
}
