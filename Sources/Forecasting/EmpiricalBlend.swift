import Boosting
import Foundation
import NeuralNet

/// Each served quantile as a mix of the network's and the product's own empirical quantile of its
/// last W periods: q_j = (1 − λ_j)·network_j + λ_j·empirical_j, with W and λ_j fitted on the
/// held-out tail (λ = 0 where the mix does not help).
///
/// Why: on intermittent demand a global network pulls every product's upper quantile toward
/// what similar-looking histories did, while the product's own recent order statistics already
/// sit on the values it sells (carparts: the empirical P90 of the last 18 months beat the
/// network's P90 on the validation window and on the test window; docs/accuracy.md).
/// Both inputs are non-negative, so the mix is; with different λ per quantile it can cross,
/// so the served row is sorted (as with count rounding).
public struct EmpiricalBlend: Sendable, Equatable {
    /// W: periods of the product's history the empirical quantiles cover.
    public var lookback: Int
    /// λ per model quantile (the network's quantile order), each in [0, 1].
    public var weights: [Float]

    public init(lookback: Int, weights: [Float]) {
        self.lookback = lookback
        self.weights = weights
    }

    /// The product's empirical quantiles at `levels` over its last `lookback` values of `units`.
    public func empirical(_ units: some Collection<Float>, levels: [Double]) -> [Float] {
        let recent = Array(units.suffix(lookback)).sorted()
        return levels.map { sampleQuantile(recent, $0) }
    }

    /// (1 − λ_j)·network + λ_j·empirical for model quantile `j`.
    @inline(__always) public func apply(_ network: Float, _ empirical: Float, column j: Int) -> Float {
        let w = weights[j]
        return (1 - w) * network + w * empirical
    }

    /// Candidate lookbacks and weights: a handful, so a short held-out tail can choose among them.
    public static let lookbacks = [12, 18, 24, 36]
    static let candidates: [Float] = (0...10).map { Float($0) / 10 }

    /// Fits W and λ per quantile to held-out cells: `forecasts[i]` the network's quantiles,
    /// `history[i]` the product's units up to the cell's FCT, `actuals[i]` the outcome, `products[i]`
    /// which product it is (nil: every cell its own). Each W gets its best λ per quantile, kept
    /// only if its gain is clear of noise: the mean per-product gain at least twice its standard
    /// error (a short held-out tail otherwise picks up mixes that do not last). The W with the least total pinball loss is kept; nil when no λ stays > 0.
    public static func fit(forecasts: [[Float]], history: [ArraySlice<Float>], actuals: [Float], products: [Int]? = nil,
                           quantiles: [Double]) -> EmpiricalBlend? {
        let group = products ?? Array(actuals.indices)
        let groups = (group.max() ?? -1) + 1
        var best: (blend: EmpiricalBlend, loss: Double)?
        for lookback in lookbacks {
            let probe = EmpiricalBlend(lookback: lookback, weights: [])
            let empirical = history.map { probe.empirical($0, levels: quantiles) }
            var weights: [Float] = [], total = 0.0
            for (j, level) in quantiles.enumerated() {
                let (w, l) = bestMix(level: level, actuals: actuals, groups: group, count: groups, from: { forecasts[$0][j] }, to: { empirical[$0][j] })
                weights.append(w)
                total += l
            }
            if best == nil || total < best!.loss { best = (EmpiricalBlend(lookback: lookback, weights: weights), total) }
        }
        guard let best, best.blend.weights.contains(where: { $0 > 0 }) else { return nil }
        return best.blend
    }

    /// The weight w on the grid 0, 0.1, …, 1 whose mix (1 − w)·from + w·to has the least pinball
    /// loss at `level` over the cells, with that loss; a w > 0 kept only when its gain per group
    /// (product; only groups with cells count) is clear of noise (`clearGain`), else 0. The one
    /// rule for every mix fitted on the held-out tail (the empirical blend, the trees).
    static func bestMix(level: Double, actuals: [Float], groups group: [Int], count groups: Int,
                        from: (Int) -> Float, to: (Int) -> Float) -> (weight: Float, loss: Double) {
        let q = Float(level)
        func cellLoss(_ i: Int, _ w: Float) -> Double { Double(PinballLoss.rho(q, actuals[i] - ((1 - w) * from(i) + w * to(i)))) }
        func loss(_ w: Float) -> Double { actuals.indices.reduce(0) { $0 + cellLoss($1, w) } }
        let (w, l) = candidates.map { ($0, loss($0)) }.min { $0.1 < $1.1 }!
        guard w > 0 else { return (w, l) }
        var gain = [Double](repeating: 0, count: groups), seen = [Bool](repeating: false, count: groups)
        for i in actuals.indices {
            gain[group[i]] += cellLoss(i, 0) - cellLoss(i, w)
            seen[group[i]] = true
        }
        return clearGain(zip(gain, seen).filter(\.1).map(\.0)) ? (w, l) : (0, loss(0))
    }

    /// Whether per-product gains are positive beyond noise: mean ≥ 2 standard errors.
    static func clearGain(_ gains: [Double]) -> Bool {
        let n = Double(gains.count)
        guard n > 1 else { return (gains.first ?? 0) > 0 }
        let mean = gains.reduce(0, +) / n
        let variance = gains.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / (n - 1)
        return mean > 0 && mean >= 2 * (variance / n).squareRoot()
    }

    /// Metadata form: "18:0,0,0.8" (W, then λ per quantile).
    public var encoded: String { "\(lookback):" + weights.map { String($0) }.joined(separator: ",") }

    public init?(encoded: String) {
        let parts = encoded.split(separator: ":")
        guard parts.count == 2, let lookback = Int(parts[0]), lookback > 0 else { return nil }
        var weights: [Float] = []
        for p in parts[1].split(separator: ",") {
            guard let w = Float(p), w >= 0, w <= 1 else { return nil }
            weights.append(w)
        }
        guard !weights.isEmpty else { return nil }
        self.init(lookback: lookback, weights: weights)
    }
}

/// The network's held-out forecasts (the trained weights, memory as in validation), one row per
/// (held-out FCT, horizon) whose actual is known, with the product (its index) and its history up
/// to the FCT: what the post-training fits (blend, count rounding) are fitted to, computed once.
public struct HeldOutCells {
    public var forecasts: [[Float]] = [], actuals: [Float] = [], history: [ArraySlice<Float>] = [], products: [Int] = []
    /// The trees' quantiles for the same cells (`heldOutCells(trees:)`; empty: none).
    public var trees: [[Float]] = []

    /// The cells of several networks (same series, same cutoff, so the same cells in the same
    /// order) with their forecasts averaged quantile by quantile, as an ensemble serves them.
    public static func mean(_ all: [HeldOutCells]) -> HeldOutCells {
        guard var out = all.first, all.count > 1 else { return all.first ?? HeldOutCells() }
        let n = Float(all.count)
        for c in out.forecasts.indices {
            out.forecasts[c] = out.forecasts[c].indices.map { j in all.reduce(0) { $0 + $1.forecasts[c][j] } / n }
        }
        return out
    }
}

extension MQTrainer {
    /// With `trees`, also their quantiles for the same cells.
    public func heldOutCells(_ series: [ProductSeries], cutoff: Int64, trees: [Booster]? = nil) throws -> HeldOutCells {
        let validation = split(series, cutoff: cutoff, holdOut: true).validation
        let c = network.config, H = c.horizons
        refreshBaseForecasts(remembered(validation), series: series)
        var cells = HeldOutCells()
        for from in stride(from: 0, to: validation.count, by: 512) {
            let chunk = validation[from..<min(from + 512, validation.count)]
            let (x, scales) = features.batch(chunk.map { example($0.0, series[$0.0], t: $0.1).input })
            let (final, _) = network.forward(x, workspaces[0])
            let treeValues = try trees.map { try TreeMember.quantiles($0, x, scales: scales, factors: workspaces[0].priceFactors(), config: c) }
            for (e, pair) in chunk.enumerated() {
                let units = series[pair.0].units, t = pair.1
                for k in 0..<H where t + 1 + k < units.count {
                    cells.forecasts.append((0..<c.quantiles.count).map { max(0, final[e * H + k, $0] * scales[e]) })
                    cells.actuals.append(units[t + 1 + k])
                    cells.history.append(units[0...t])
                    cells.products.append(pair.0)
                    if let treeValues { cells.trees.append(treeValues[e * H + k]) }
                }
            }
        }
        return cells
    }

    /// Fits the empirical blend to the held-out cells; nil when there are none or no clear gain.
    public func fitEmpiricalBlend(_ cells: HeldOutCells) -> EmpiricalBlend? {
        guard !cells.actuals.isEmpty else { return nil }
        return EmpiricalBlend.fit(forecasts: cells.forecasts, history: cells.history, actuals: cells.actuals,
                                  products: cells.products, quantiles: network.config.quantiles)
    }
}
