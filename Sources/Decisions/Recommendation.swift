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
        func number(_ v: Double) { Self.appendNumber(v, to: &out) }
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
    /// platforms.
    public static func number(_ v: Double) -> String {
        var out: [UInt8] = []
        appendNumber(v, to: &out)
        return String(decoding: out, as: UTF8.self)
    }

    /// `number(v)` appended as bytes. Computed here (Foundation's String(format:) took a fifth of
    /// an offline replay with recommendations on); a value within a hair of a rounding tie goes
    /// through vsnprintf.
    static func appendNumber(_ v: Double, to out: inout [UInt8]) {
        guard v.isFinite else { return out.append(UInt8(ascii: "0")) }
        if v == v.rounded(), v.magnitude < 1e15 { return out.append(contentsOf: String(Int64(v)).utf8) }
        guard let (digits, exponent) = sixDigits(v.magnitude) else {
            let text = withUnsafeTemporaryAllocation(of: CChar.self, capacity: 32) { buffer in
                _ = withVaList([v]) { vsnprintf(buffer.baseAddress, 32, "%.6g", $0) }
                return String(cString: buffer.baseAddress!)
            }
            return out.append(contentsOf: text.utf8)
        }
        // The six digits, most significant first, trailing zeros dropped.
        var d: (UInt8, UInt8, UInt8, UInt8, UInt8, UInt8) = (0, 0, 0, 0, 0, 0)
        withUnsafeMutableBytes(of: &d) { d in
            var n = digits
            for i in stride(from: 5, through: 0, by: -1) { d[i] = UInt8(48 + n % 10); n /= 10 }
            var count = 6
            while count > 1 && d[count - 1] == UInt8(ascii: "0") { count -= 1 }
            if v < 0 { out.append(UInt8(ascii: "-")) }
            // %g: fixed notation for exponents −4 … 5, otherwise d.ddddde±XX.
            if exponent >= -4 && exponent < 6 {
                if exponent < 0 {
                    out.append(UInt8(ascii: "0")); out.append(UInt8(ascii: "."))
                    for _ in 0..<(-exponent - 1) { out.append(UInt8(ascii: "0")) }
                    for i in 0..<count { out.append(d[i]) }
                } else {
                    for i in 0...exponent { out.append(i < count ? d[i] : UInt8(ascii: "0")) }
                    if count > exponent + 1 {
                        out.append(UInt8(ascii: "."))
                        for i in (exponent + 1)..<count { out.append(d[i]) }
                    }
                }
            } else {
                out.append(d[0])
                if count > 1 {
                    out.append(UInt8(ascii: "."))
                    for i in 1..<count { out.append(d[i]) }
                }
                let e = abs(exponent)
                out.append(contentsOf: "e\(exponent < 0 ? "-" : "+")\(e < 10 ? "0" : "")\(e)".utf8)
            }
        }
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
