import Decisions
import Windows

/// What a forecaster's order recommendations would have cost: each product's recommended
/// order-up-to levels at the backtest's FCTs (every review period apart) played against its
/// actual demand (InventorySimulation), summed over products.
public enum CostBacktest {
    /// One product's levels at its reviews, with its policy and money.
    public struct Plan: Sendable {
        public var policy: InventoryPolicy
        public var costs: InventoryPolicy.Costs
        /// Review period index → order-up-to level.
        public var levels: [Int64: Int]

        public init(policy: InventoryPolicy, costs: InventoryPolicy.Costs, levels: [Int64: Int]) {
            self.policy = policy
            self.costs = costs
            self.levels = levels
        }
    }

    /// The reviews of a policy among the FCTs: the first, then every review period.
    public static func reviews(_ fcts: [Int64], reviewPeriod: Int) -> [Int64] {
        guard let first = fcts.first else { return [] }
        return fcts.filter { ($0 - first) % Int64(reviewPeriod) == 0 }
    }

    /// Plans from the recommendations a run emitted at the FCTs (period indices); products missing
    /// a recommendation at one of their reviews are left out.
    public static func plans(_ recommendations: [Recommendation], fcts: [Int64], period: Period) -> [String: Plan] {
        let wanted = Set(fcts)
        var plans: [String: Plan] = [:]
        for r in recommendations {
            let t = period.index(of: r.fct)
            guard wanted.contains(t) else { continue }
            plans[r.product, default: Plan(policy: r.policy, costs: r.costs, levels: [:])].levels[t] = r.orderUpTo
        }
        return plans.filter { _, plan in reviews(fcts, reviewPeriod: plan.policy.reviewPeriod).allSatisfy { plan.levels[$0] != nil } }
    }

    /// Plays the plans of `products` against the actual demand.
    public static func play(_ plans: [String: Plan], products: [String], fcts: [Int64], actuals: [String: [Int64: Double]]) -> InventorySimulation.Outcome {
        var total = InventorySimulation.Outcome()
        for product in products {
            guard let plan = plans[product] else { continue }
            let at = reviews(fcts, reviewPeriod: plan.policy.reviewPeriod)
            let demand = actuals[product] ?? [:]
            total = total + InventorySimulation.play(reviews: at, orderUpTo: at.map { plan.levels[$0]! }, policy: plan.policy,
                                                     costs: plan.costs) { demand[$0] ?? 0 }
        }
        return total
    }

    /// Plans from the true quantiles (the oracle's forecast) read as a forecast is read
    /// (LeadTimeDemand): what the reading of quantiles loses, apart from the forecast's errors.
    public static func quantilePlans(like: [String: Plan], fcts: [Int64], levels: [Double], truth: [String: [Int64: [Float]]],
                                     correlation: Double) -> [String: Plan] {
        var out: [String: Plan] = [:]
        for (product, plan) in like {
            guard let byPeriod = truth[product] else { continue }
            var levelsAt: [Int64: Int] = [:]
            for t in reviews(fcts, reviewPeriod: plan.policy.reviewPeriod) {
                let curves = (1...plan.policy.coverage).map { h in
                    QuantileCurve(levels: levels, values: (byPeriod[t + Int64(h)] ?? levels.map { _ in 0 }).map(Double.init))
                }
                levelsAt[t] = LeadTimeDemand(periods: curves, correlation: correlation).quantile(plan.costs.criticalRatio)
            }
            out[product] = Plan(policy: plan.policy, costs: plan.costs, levels: levelsAt)
        }
        return out
    }

    /// The oracle's plans: levels at the critical ratio of the exact distribution of the covered
    /// periods' demand (independent negative binomials with the simulator's true means and shape),
    /// for the products and money of `like`.
    public static func oraclePlans(like: [String: Plan], fcts: [Int64], truth: [String: [Int64: (mean: Double, shape: Double)]]) -> [String: Plan] {
        var out: [String: Plan] = [:]
        for (product, plan) in like {
            guard let byPeriod = truth[product] else { continue }
            var levels: [Int64: Int] = [:]
            for t in reviews(fcts, reviewPeriod: plan.policy.reviewPeriod) {
                let pmfs = (1...plan.policy.coverage).map { h -> [Double] in
                    let d = byPeriod[t + Int64(h)] ?? (0, 1)
                    let dist = CountDistribution.negativeBinomial(mean: d.mean, size: d.shape)
                    return dist.pmf(upTo: dist.quantile(1 - 1e-9))
                }
                levels[t] = CountSum.quantile(of: pmfs, plan.costs.criticalRatio)
            }
            out[product] = Plan(policy: plan.policy, costs: plan.costs, levels: levels)
        }
        return out
    }
}
