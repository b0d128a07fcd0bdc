import Boosting
import Foundation
import NeuralNet

/// Gradient-boosted trees beside the network: one XGBoost ensemble per quantile, grown on the
/// pinball loss, on rows (example, horizon) read from the network's own input batch — so training
/// and serving build them with the same code — and served as a mix with the network's quantiles,
/// (1 − μ_j)·network_j + μ_j·trees_j, μ_j fitted on the held-out tail.
///
/// Planned prices reach the trees only through the first network's price factor (its
/// elasticity, and a promotion's lift where that is a factor): the trees forecast demand at the
/// price of the FCT and are multiplied by that factor, so a planned price change moves the mix as
/// it moves the network — a tree has no elasticity and would answer a price cut with the average
/// promotion it saw.
///
/// Why: trees split on a product's recent levels, its season-ago value and the target's calendar
/// the way a global LightGBM model does — the strongest peer on weekly store data — and their
/// errors differ from the network's, so a mix can beat both. The network stays the core: μ = 0
/// where the trees add nothing clear on the held-out tail, and then no trees are stored.
public struct TreeMember {
    /// One per model quantile (the network's quantile order).
    public var boosters: [Booster]
    /// μ per model quantile, in [0, 1].
    public var mix: [Float]

    public init(boosters: [Booster], mix: [Float]) {
        precondition(boosters.count == mix.count)
        self.boosters = boosters
        self.mix = mix
    }

    /// Features per row: y/s at the last 8 context periods; its mean over the last 4, 13 and L
    /// periods, its standard deviation over L, the share of zeros in the last 8; page views
    /// (last, mean of 4); the last price ratio, promotion flag and age; log(1 + s); the horizon;
    /// every future input of the target and its calendar; the category row. (Where the network
    /// takes the price as a factor, the target's price is not among them: `priceFactors`.)
    public static func columns(_ c: MQConfig) -> Int {
        8 + 5 + 2 + 3 + 1 + 1 + c.futureFeatures + c.calendarFeatures + 1
    }

    /// Per column: −1 where demand may only fall as the value rises (the target's price against
    /// the usual one, where it is an input), +1 where it may only rise (a promotion coming, where
    /// its flag is an input), 0 elsewhere.
    public static func monotone(_ c: MQConfig) -> [Int] {
        var signs = [Int](repeating: 0, count: columns(c))
        let future = 8 + 5 + 2 + 3 + 1 + 1
        if !c.priceElasticity && c.futureFeatures > 0 { signs[future] = -1 }
        if !(c.priceElasticity && c.promoLift) && c.futureFeatures > 1 { signs[future + 1] = 1 }
        return signs
    }

    /// Rows b·H + k for every example b and horizon k, `columns` values each.
    public static func rows(_ x: MQBatch, scales: [Float], config c: MQConfig) -> [Float] {
        let L = c.context, H = c.horizons, width = columns(c)
        var out = [Float](repeating: 0, count: x.size * H * width)
        var summary = [Float](repeating: 0, count: 19)
        for b in 0..<x.size {
            func y(_ back: Int) -> Float { x.past[b * L + L - 1 - back, 0] }
            for i in 0..<8 { summary[i] = i < L ? y(i) : .nan }
            func mean(_ n: Int) -> Float { let m = min(n, L); return (0..<m).reduce(0) { $0 + y($1) } / Float(m) }
            summary[8] = mean(4)
            summary[9] = mean(13)
            summary[10] = mean(L)
            let all = summary[10]
            summary[11] = ((0..<L).reduce(0) { $0 + (y($1) - all) * (y($1) - all) } / Float(L)).squareRoot()
            summary[12] = Float((0..<min(8, L)).filter { y($0) == 0 }.count) / Float(min(8, L))
            let n = c.pastFeatures, last = b * L + L - 1
            summary[13] = n > 1 ? x.past[last, 1] : 0
            summary[14] = n > 1 ? (0..<min(4, L)).reduce(0) { $0 + x.past[last - $1, 1] } / Float(min(4, L)) : 0
            summary[15] = n > 2 ? x.past[last, 2] : 0
            summary[16] = n > 3 ? x.past[last, 3] : 0
            summary[17] = n > 5 ? x.past[last, 5] : 0
            summary[18] = log1p(scales[b])
            for k in 0..<H {
                let row = b * H + k
                var o = row * width
                for v in summary { out[o] = v; o += 1 }
                out[o] = Float(k + 1); o += 1
                for f in 0..<c.futureFeatures { out[o] = x.future[row, f]; o += 1 }
                for f in 0..<c.calendarFeatures { out[o] = x.targetCalendar[row, f]; o += 1 }
                out[o] = Float(x.categories[b]); o += 1
            }
        }
        return out
    }

    /// The trees' quantiles in units, [row b·H + k][model quantile], never below 0; `factors`: the
    /// first network's price factor per row (`MQNetwork.Workspace.priceFactors`; nil: 1).
    public func forecast(_ x: MQBatch, scales: [Float], factors: [Float]?, config c: MQConfig) throws -> [[Float]] {
        try Self.quantiles(boosters, x, scales: scales, factors: factors, config: c)
    }

    static func quantiles(_ boosters: [Booster], _ x: MQBatch, scales: [Float], factors: [Float]?, config c: MQConfig) throws -> [[Float]] {
        let H = c.horizons
        let rows = try FeatureRows(Self.rows(x, scales: scales, config: c), columns: Self.columns(c))
        let scores = try boosters.map { try $0.predict(rows) }
        return (0..<(x.size * H)).map { r in scores.map { max(0, $0[r] * scales[r / H] * (factors?[r] ?? 1)) } }
    }

    /// The first network's price factor per target row of `x` (nil without the elasticity): one
    /// forward pass (the factor reads the encoder, not the error memory).
    static func priceFactors(_ network: MQNetwork, _ x: MQBatch, _ ws: MQNetwork.Workspace) -> [Float]? {
        guard network.config.priceElasticity else { return nil }
        _ = network.forward(x, ws)
        return ws.priceFactors()
    }

    /// (1 − μ_j)·network + μ_j·trees for model quantile j.
    @inline(__always) public func apply(_ network: Float, _ trees: Float, column j: Int) -> Float {
        (1 - mix[j]) * network + mix[j] * trees
    }

    /// μ per quantile fitted to held-out cells (`served`: what the model serves without the
    /// trees, `trees`: the trees' quantiles, both in units), on the grid 0, 0.1, …, 1; a μ > 0
    /// kept only when its per-product gain is clear of noise (as the empirical blend's).
    /// Nil when every μ is 0.
    public static func fitMix(served: [[Float]], trees: [[Float]], actuals: [Float], products: [Int], quantiles: [Double]) -> [Float]? {
        let groups = (products.max() ?? -1) + 1
        let mix = quantiles.indices.map { j in
            EmpiricalBlend.bestMix(level: quantiles[j], actuals: actuals, groups: products, count: groups,
                                   from: { served[$0][j] }, to: { trees[$0][j] }).weight
        }
        return mix.contains { $0 > 0 } ? mix : nil
    }

    /// Metadata form: μ per quantile, "0.3,0.5,0".
    public var encodedMix: String { mix.map { String($0) }.joined(separator: ",") }

    public static func decodeMix(_ text: String) -> [Float]? {
        let values = text.split(separator: ",").map { Float($0) }
        guard !values.isEmpty, values.allSatisfy({ $0 != nil && $0! >= 0 && $0! <= 1 }) else { return nil }
        return values.map { $0! }
    }
}

extension MQTrainer {
    /// Grows the trees, one booster per quantile, on the training FCTs' rows (at most `maxRows`,
    /// an even sample of the examples). How many rounds: early stopping on the rows of the last H
    /// training FCTs, with the trees grown on the others; then they are grown again on all the
    /// training rows for that many rounds. The held-out tail stays unseen by the trees, so the mix
    /// fitted there is not fitted to the rows that chose their size. Targets y/s, each row
    /// weighted by s (its share of the unscaled loss). Nil when the training range is too short
    /// to hold both (a log of a few weeks).
    public func trainTrees(_ series: [ProductSeries], cutoff: Int64, maxRows: Int = 600_000, settings: QuantileBoosting.Settings,
                           progress: (String) -> Void = { _ in }) throws -> [Booster]? {
        let c = network.config, H = c.horizons
        let all = split(series, cutoff: cutoff, holdOut: true).train
        // The last H FCTs of the training range (their targets reach into the H periods before the held-out tail's).
        let isLate = { (pair: (Int, Int)) in pair.1 + 2 * H > Int(cutoff - series[pair.0].firstPeriod) - H }
        func sample(_ pairs: [(Int, Int)]) -> [(Int, Int)] {
            let keep = max(1, maxRows / H)
            return pairs.count <= keep ? pairs : (0..<keep).map { pairs[Int((Double($0) + 0.5) * Double(pairs.count) / Double(keep))] }
        }
        guard let early = try treeData(series, sample(all.filter { !isLate($0) })), let late = try treeData(series, all.filter(isLate)),
              let everything = try treeData(series, sample(all)) else {
            progress("trees: not grown (the training range is too short to size them on its last \(H) FCTs)")
            return nil
        }
        progress("trees: \(everything.targets.count) rows × \(TreeMember.columns(c)) features (of \(all.count) examples); rounds chosen on the last \(H) training FCTs (\(late.targets.count) rows)")
        return try c.quantiles.map { level in
            let started = Date()
            var s = settings
            s.monotone = TreeMember.monotone(c)
            let sized = try QuantileBoosting.fit(level: level, training: early, heldOut: late, settings: s)
            s.maxRounds = sized.rounds
            let fit = try QuantileBoosting.fit(level: level, training: everything, heldOut: nil, settings: s)
            progress(String(format: "trees P%g: %d rounds (loss there %@), %.1f s", level * 100, fit.rounds,
                            sized.heldOutLoss.map { String(format: "%.4f", $0 / Double(late.weights.count)) } ?? "-", Date().timeIntervalSince(started)))
            return fit.booster
        }
    }

    /// The trees' rows of (series, FCT) pairs with their targets y/(s·F) and weights s·F (scaled to
    /// average 1), F the network's price factor of the row.
    func treeData(_ series: [ProductSeries], _ pairs: [(Int, Int)]) throws -> QuantileBoosting.Data? {
        let c = network.config, H = c.horizons, width = TreeMember.columns(c)
        var values: [Float] = [], targets: [Float] = [], weights: [Float] = []
        for from in stride(from: 0, to: pairs.count, by: 1024) {
            let chunk = pairs[from..<min(from + 1024, pairs.count)]
            let (x, scales) = features.batch(chunk.map { (series[$0.0], $0.1, nil, nil) })
            let rows = TreeMember.rows(x, scales: scales, config: c)
            let factors = TreeMember.priceFactors(network, x, workspaces[0])
            for (e, pair) in chunk.enumerated() {
                let units = series[pair.0].units
                for k in 0..<H where pair.1 + 1 + k < units.count {
                    let r = e * H + k, unit = scales[e] * (factors?[r] ?? 1)
                    values += rows[(r * width)..<((r + 1) * width)]
                    targets.append(units[pair.1 + 1 + k] / unit)
                    weights.append(unit)
                }
            }
        }
        guard !targets.isEmpty else { return nil }
        let mean = weights.reduce(0, +) / Float(weights.count)
        return QuantileBoosting.Data(rows: try FeatureRows(values, columns: width), targets: targets, weights: weights.map { $0 / mean })
    }
}
