import Events
import Foundation

/// What to stock for one product after one forecast: the order-up-to level at the policy's
/// critical ratio of the demand over lead time + review period, and, when the product's stock is
/// known, the order that brings the inventory position up to it. A pure function of the forecast,
/// the policy and the stock: no wall clock inside.
public struct Recommendation: Sendable, Equatable {
    public var product: String
    /// `hour`, `day`, `week` or `month`.
    public var period: String
    /// The forecast's FCT (epoch ms) and model.
    public var fct: Int64
    public var model: String
    public var policy: InventoryPolicy
    public var costs: InventoryPolicy.Costs
    /// Demand over the `policy.coverage` periods after the FCT.
    public var demand: LeadTimeDemand
    public var orderUpTo: Int
    /// On hand + on order − backordered, when known.
    public var inventoryPosition: Double?
    /// From an early refresh's provisional forecast: the recommendation at the period's close
    /// supersedes it. Not in the message value (a Kafka header says it, as for the forecast).
    public var provisional = false
    public var order: Int? { inventoryPosition.map { max(0, orderUpTo - Int($0.rounded(.up))) } }

    /// The message value (schema 1).
    public var jsonBytes: [UInt8] {
        var s = #"{"schema":1,"product":"# + EventEncoder.quote(product) + #","period":""# + period + #"","fct":""# + Timestamp.format(fct) + "\""
        s += #","model":"# + EventEncoder.quote(model)
        s += #","policy":{"lead_time":\#(policy.leadTime),"review_period":\#(policy.reviewPeriod),"shortage":""# + policy.shortage.rawValue + "\""
        s += #","price":\#(Self.number(costs.price)),"unit_cost":\#(Self.number(costs.unitCost)),"holding_cost":\#(Self.number(costs.holding))"#
        s += #","shortage_cost":\#(Self.number(costs.shortage)),"critical_ratio":\#(Self.number(costs.criticalRatio))}"#
        s += #","demand":{"periods":\#(policy.coverage),"mean":\#(Self.number(demand.mean)),"sd":\#(Self.number(demand.variance.squareRoot()))"#
        s += #","distribution":""# + demand.distribution.name + "\"}"
        s += #","order_up_to":\#(orderUpTo)"#
        if let ip = inventoryPosition, let order {
            s += #","inventory_position":\#(Self.number(ip)),"order":\#(order)"#
        }
        s += "}"
        return Array(s.utf8)
    }

    /// Six significant digits: enough for money and units, stable across platforms.
    public static func number(_ v: Double) -> String {
        guard v.isFinite else { return "0" }
        if v == v.rounded(), v.magnitude < 1e15 { return String(Int64(v)) }
        return String(format: "%.6g", v)
    }
}

/// Turns forecasts into recommendations under a book of policies.
public struct Recommender: Sendable {
    public var book: PolicyBook
    public var periodsPerYear: Double
    /// Correlation of forecast errors between the covered periods (see LeadTimeDemand).
    public var correlation: Double

    public init(book: PolicyBook, periodsPerYear: Double, correlation: Double = 0) {
        self.book = book
        self.periodsPerYear = periodsPerYear
        self.correlation = correlation
    }

    /// nil when the product has no price from either the policy or its events, or the forecast
    /// covers fewer periods than the policy needs.
    public func recommend(product: String, category: String?, productPrice: Double?, period: String, fct: Int64,
                          model: String, levels: [Double], horizons: [[Float]], inventoryPosition: Double? = nil,
                          ownPolicy: [String: String]? = nil) -> Recommendation? {
        let policy = book.policy(product: product, category: category, own: ownPolicy)
        guard policy.coverage <= horizons.count,
              let costs = policy.costs(productPrice: productPrice, periodsPerYear: periodsPerYear) else { return nil }
        let curves = horizons.prefix(policy.coverage).map { QuantileCurve(levels: levels, values: $0.map(Double.init)) }
        let demand = LeadTimeDemand(periods: Array(curves), correlation: correlation)
        return Recommendation(product: product, period: period, fct: fct, model: model, policy: policy, costs: costs,
                              demand: demand, orderUpTo: demand.quantile(costs.criticalRatio), inventoryPosition: inventoryPosition)
    }
}
