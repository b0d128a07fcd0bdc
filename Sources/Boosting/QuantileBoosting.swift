/// Gradient-boosted trees that estimate one quantile: grown on the pinball loss through XGBoost's
/// custom-gradient rounds (the Debian XGBoost, 1.7, has no quantile objective of its own).
///
/// The pinball loss has no curvature, so each round takes a gradient step: the hessian is the row's
/// weight, and a leaf moves by the learning rate × `stepSize` × (level − weighted share of its rows
/// already below their targets). `stepSize` is the targets' typical spread, so the steps fit their
/// scale; early stopping on held-out rows keeps the best number of rounds.
public enum QuantileBoosting {
    public struct Settings: Sendable {
        public var maxRounds = 1_000
        public var learningRate: Float = 0.25
        public var depth = 6
        public var rowSample = 0.8
        public var columnSample = 0.8
        /// Least summed row weight (weights average 1) in a leaf.
        public var minLeafWeight = 50
        public var threads = 2
        public var seed: UInt64 = 1
        /// Held-out loss is read every this many rounds; training stops after `patience` reads without a better one.
        public var checkEvery = 25
        public var patience = 4
        /// Per feature: +1 the score may only rise with it, −1 only fall, 0 free (empty: all free).
        public var monotone: [Int] = []
        public init() {}
    }

    /// Rows with targets and weights (the loss of a row is weight × ρ_level(target − score)).
    public struct Data {
        public var rows: FeatureRows
        public var targets: [Float]
        public var weights: [Float]
        public init(rows: FeatureRows, targets: [Float], weights: [Float]) {
            precondition(targets.count == rows.rows && weights.count == rows.rows)
            self.rows = rows
            self.targets = targets
            self.weights = weights
        }

        /// Σ weight × pinball loss of `scores` at `level`.
        public func loss(_ scores: [Float], level: Float) -> Double {
            var total = 0.0
            for i in targets.indices { total += Double(weights[i] * pinball(level, targets[i] - scores[i])) }
            return total
        }
    }

    @inline(__always) static func pinball(_ q: Float, _ u: Float) -> Float { u >= 0 ? q * u : (q - 1) * u }

    /// Trees for quantile `level` of the targets; returns them with the held-out loss of the rounds
    /// kept (nil without held-out rows: then every round is kept).
    public static func fit(level: Double, training: Data, heldOut: Data?, settings s: Settings) throws -> (booster: Booster, heldOutLoss: Double?, rounds: Int) {
        let q = Float(level)
        let start = weightedQuantile(training.targets, training.weights, q)
        let step = max(1e-3, weightedMeanAbsoluteDeviation(training.targets, training.weights, from: weightedQuantile(training.targets, training.weights, 0.5)))
        let booster = try Booster(training: training.rows, parameters: [
            ("tree_method", "hist"), ("max_depth", String(s.depth)), ("eta", String(s.learningRate)),
            ("subsample", String(s.rowSample)), ("colsample_bytree", String(s.columnSample)),
            ("min_child_weight", String(s.minLeafWeight)), ("lambda", "1"), ("base_score", String(start)),
            ("nthread", String(s.threads)), ("seed", String(s.seed % 2_147_483_647)), ("verbosity", "0"),
        ] + (s.monotone.contains { $0 != 0 } ? [("monotone_constraints", "(" + s.monotone.map(String.init).joined(separator: ",") + ")")] : []))
        var gradient = [Float](repeating: 0, count: training.rows.rows)
        var best: (loss: Double, rounds: Int)?
        var sinceBest = 0
        for round in 1...s.maxRounds {
            let scores = try booster.predict(training.rows, training: true)
            for i in gradient.indices {
                gradient[i] = step * training.weights[i] * ((training.targets[i] < scores[i] ? 1 : 0) - q)
            }
            try booster.boost(training.rows, gradient: gradient, hessian: training.weights)
            guard let heldOut, round % s.checkEvery == 0 || round == s.maxRounds else { continue }
            let loss = heldOut.loss(try booster.predict(heldOut.rows), level: q)
            if best == nil || loss < best!.loss {
                best = (loss, round)
                sinceBest = 0
            } else {
                sinceBest += 1
                if sinceBest >= s.patience { break }
            }
        }
        guard let best else { return (booster, nil, booster.rounds) }
        return (best.rounds == booster.rounds ? booster : try booster.prefix(rounds: best.rounds), best.loss, best.rounds)
    }

    static func weightedQuantile(_ values: [Float], _ weights: [Float], _ q: Float) -> Float {
        guard !values.isEmpty else { return 0 }
        let order = values.indices.sorted { values[$0] < values[$1] }
        let total = weights.reduce(0, +)
        var seen: Float = 0
        for i in order {
            seen += weights[i]
            if seen >= q * total { return values[i] }
        }
        return values[order.last!]
    }

    static func weightedMeanAbsoluteDeviation(_ values: [Float], _ weights: [Float], from center: Float) -> Float {
        var total: Float = 0, sum: Float = 0
        for i in values.indices { sum += weights[i] * abs(values[i] - center); total += weights[i] }
        return total > 0 ? sum / total : 0
    }
}
