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

    /// The message value (schema 1), written byte by byte: one is built for every forecast.
    public var jsonBytes: [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(448)
        func text(_ s: String) { out.append(contentsOf: s.utf8) }
        func number(_ v: Double) { out.append(contentsOf: Self.number(v).utf8) }
        text(#"{"schema":1,"product":"#); text(EventEncoder.quote(product))
        text(#","period":""#); text(period)
        text(#"","fct":""#); text(Timestamp.format(fct))
        text(#"","model":"#); text(EventEncoder.quote(model))
        text(#","policy":{"lead_time":"#); text(String(policy.leadTime))
        text(#","review_period":"#); text(String(policy.reviewPeriod))
        text(#","shortage":""#); text(policy.shortage.rawValue)
        text(#"","price":"#); number(costs.price)
        text(#","unit_cost":"#); number(costs.unitCost)
        text(#","holding_cost":"#); number(costs.holding)
        text(#","shortage_cost":"#); number(costs.shortage)
        text(#","critical_ratio":"#); number(costs.criticalRatio)
        text(#"},"demand":{"periods":"#); text(String(policy.coverage))
        text(#","mean":"#); number(demand.mean)
        text(#","sd":"#); number(demand.variance.squareRoot())
        text(#","distribution":""#); text(demand.distribution.name)
        text(#""},"order_up_to":"#); text(String(orderUpTo))
        if let ip = inventoryPosition, let order {
            text(#","inventory_position":"#); number(ip)
            text(#","order":"#); text(String(order))
        }
        out.append(UInt8(ascii: "}"))
        return out
    }

    /// Six significant digits, as C's %.6g prints them: enough for money and units, stable across
    /// platforms. Computed here (Foundation's String(format:) took a fifth of an offline replay
    /// with recommendations on); a value within a hair of a rounding tie goes through vsnprintf.
    public static func number(_ v: Double) -> String {
        guard v.isFinite else { return "0" }
        if v == v.rounded(), v.magnitude < 1e15 { return String(Int64(v)) }
        guard let (digits, exponent) = sixDigits(v.magnitude) else {
            return withUnsafeTemporaryAllocation(of: CChar.self, capacity: 32) { buffer in
                _ = withVaList([v]) { vsnprintf(buffer.baseAddress, 32, "%.6g", $0) }
                return String(cString: buffer.baseAddress!)
            }
        }
        // %g: fixed notation for exponents −4 … 5, otherwise d.ddddde±XX; trailing zeros dropped.
        var mantissa = Array(String(digits).utf8)
        while mantissa.count > 1 && mantissa.last == UInt8(ascii: "0") { mantissa.removeLast() }
        var out: [UInt8] = v < 0 ? [UInt8(ascii: "-")] : []
        if exponent >= -4 && exponent < 6 {
            if exponent < 0 {
                out += Array("0.".utf8) + Array(repeating: UInt8(ascii: "0"), count: -exponent - 1) + mantissa
            } else if mantissa.count > exponent + 1 {
                out += mantissa[...exponent] + [UInt8(ascii: ".")] + mantissa[(exponent + 1)...]
            } else {
                out += mantissa + Array(repeating: UInt8(ascii: "0"), count: exponent + 1 - mantissa.count)
            }
        } else {
            out.append(mantissa[0])
            if mantissa.count > 1 { out += [UInt8(ascii: ".")] + mantissa[1...] }
            let e = abs(exponent)
            out += Array("e\(exponent < 0 ? "-" : "+")\(e < 10 ? "0" : "")\(e)".utf8)
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// x > 0 rounded to six significant digits: (digits 100000…999999, decimal exponent of the
    /// first), or nil when x lies so close to a tie that the floating-point scaling could round it
    /// the wrong way.
    static func sixDigits(_ x: Double) -> (Int, Int)? {
        var exponent = Int(log10(x).rounded(.down))
        for _ in 0..<3 {
            let scaled = exponent >= 5 ? x / pow(10, Double(exponent - 5)) : x * pow(10, Double(5 - exponent))
            let fraction = scaled - scaled.rounded(.down)
            guard abs(fraction - 0.5) > 1e-6 else { return nil }
            let digits = Int(scaled.rounded())
            if digits >= 1_000_000 { exponent += 1; continue }
            if digits < 100_000 { exponent -= 1; continue }
            return (digits, exponent)
        }
        return nil
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
