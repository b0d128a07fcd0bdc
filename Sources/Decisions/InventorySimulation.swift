/// Plays a periodic-review order-up-to policy against actual demand: what the recommended orders
/// would have cost. At each review (after period t closed) the order S_t − inventory position is
/// placed and arrives at the start of period t + 1 + lead time; demand is served from stock on
/// hand; the rest is lost or backordered. Holding is charged on stock left at each period's end.
public struct InventorySimulation: Sendable {
    public struct Outcome: Sendable, Equatable, Codable {
        public var holdingCost = 0.0
        public var shortageCost = 0.0
        public var totalCost: Double { holdingCost + shortageCost }
        public var demand = 0.0
        /// Units served from stock in the period they were demanded.
        public var served = 0.0
        public var periods = 0
        /// Periods whose whole demand was served from stock.
        public var periodsWithoutShortage = 0
        public var fillRate: Double { demand > 0 ? served / demand : 1 }
        public var serviceLevel: Double { periods > 0 ? Double(periodsWithoutShortage) / Double(periods) : 1 }

        public init() {}

        public static func + (a: Self, b: Self) -> Self {
            var s = a
            s.holdingCost += b.holdingCost
            s.shortageCost += b.shortageCost
            s.demand += b.demand
            s.served += b.served
            s.periods += b.periods
            s.periodsWithoutShortage += b.periodsWithoutShortage
            return s
        }
    }

    /// One product: `orderUpTo[i]` is the level set at review `reviews[i]` (period indices, every
    /// `policy.reviewPeriod` apart); `demand(t)` the actual units of period t. Stock starts at the
    /// first review's level, nothing on order (as if the policy had been running). Periods from the
    /// first review's next through the last review's cover are played.
    public static func play(reviews: [Int64], orderUpTo: [Int], policy: InventoryPolicy, costs: InventoryPolicy.Costs,
                            demand: (Int64) -> Double) -> Outcome {
        precondition(reviews.count == orderUpTo.count)
        var out = Outcome()
        guard let first = reviews.first else { return out }
        var net = Double(orderUpTo[0])  // on hand, negative = backordered
        var arriving: [Int64: Double] = [:]
        var onOrder = 0.0
        var r = 0
        let end = reviews.last! + Int64(policy.reviewPeriod)
        var t = first
        while t < end {
            if r < reviews.count, reviews[r] == t {
                let position = net + onOrder
                let q = max(0, Double(orderUpTo[r]) - position)
                if r > 0 && q > 0 {
                    arriving[t + 1 + Int64(policy.leadTime), default: 0] += q
                    onOrder += q
                }
                r += 1
            }
            t += 1  // period t is played
            if let q = arriving.removeValue(forKey: t) {
                net += q
                onOrder -= q
            }
            let d = max(demand(t), 0)
            let fromStock = min(max(net, 0), d)
            out.demand += d
            out.served += fromStock
            out.periods += 1
            if fromStock >= d { out.periodsWithoutShortage += 1 }
            switch policy.shortage {
            case .lostSales:
                net -= fromStock
                out.shortageCost += (d - fromStock) * costs.shortage
            case .backorders:
                net -= d
                out.shortageCost += max(-net, 0) * costs.shortage
            }
            out.holdingCost += max(net, 0) * costs.holding
        }
        return out
    }
}
