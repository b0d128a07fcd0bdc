/// How a product is stocked and what stock and shortage cost: the inputs of an order-up-to
/// (periodic review) recommendation. Money is in the unit of the product's prices.
public struct InventoryPolicy: Sendable, Equatable {
    /// What happens to demand that finds no stock.
    public enum Shortage: String, Sendable, CaseIterable {
        /// The sale is lost: it costs the margin (price − unit cost).
        case lostSales = "lost_sales"
        /// The customer waits: it costs `backorderCost` per unit per period it waits.
        case backorders
    }

    /// Periods from placing an order to its arrival (0: it arrives for the next period).
    public var leadTime = 1
    /// Periods between orders (1: an order after every period close).
    public var reviewPeriod = 1
    /// Purchase cost per unit; nil: `costShare` × the selling price.
    public var unitCost: Double? = nil
    /// Unit cost as a share of the selling price, when `unitCost` is not given.
    public var costShare = 0.7
    /// Selling price; nil: the product's own price in force at the forecast (from its price events).
    public var price: Double? = nil
    /// Cost of holding one unit through one period; nil: `holdingRate` × unit cost per year.
    public var holdingCost: Double? = nil
    /// Holding cost per year as a share of the unit cost (capital, space, shrink).
    public var holdingRate = 0.25
    public var shortage = Shortage.lostSales
    /// Cost per unit backordered per period; nil: the margin.
    public var backorderCost: Double? = nil

    public init() {}

    /// The keys a policy takes (in config tables, costs files and the costs topic), with what they take.
    public static let keys: [(key: String, takes: String)] = [
        ("lead_time", "an integer in 0...1000 (periods from order to arrival)"),
        ("review_period", "an integer in 1...1000 (periods between orders)"),
        ("unit_cost", "a number >= 0 (purchase cost per unit)"),
        ("cost_share", "a number in [0, 1) (unit cost as a share of the price, when unit_cost is not set)"),
        ("price", "a number > 0 (selling price; default: the product's own price)"),
        ("holding_cost", "a number >= 0 (per unit per period)"),
        ("holding_rate", "a number >= 0 (holding cost per year as a share of the unit cost)"),
        ("shortage", "lost_sales or backorders"),
        ("backorder_cost", "a number >= 0 (per unit per period waiting; default: the margin)"),
    ]

    /// Sets one key from its text; the error says what the key takes.
    public mutating func set(_ key: String, _ value: String) throws(PolicyError) {
        guard let takes = Self.keys.first(where: { $0.key == key })?.takes else {
            throw PolicyError(key: key, message: "unknown policy key; policy keys are \(Self.keys.map(\.key).joined(separator: ", "))")
        }
        let bad = PolicyError(key: key, message: "expected \(takes), got \"\(value)\"")
        func number(_ ok: (Double) -> Bool) throws(PolicyError) -> Double {
            guard let v = Double(value.trimmingCharacters(in: .whitespaces)), v.isFinite, ok(v) else { throw bad }
            return v
        }
        func integer(_ range: ClosedRange<Int>) throws(PolicyError) -> Int {
            guard let v = Int(value.trimmingCharacters(in: .whitespaces)), range.contains(v) else { throw bad }
            return v
        }
        switch key {
        case "lead_time": leadTime = try integer(0...1000)
        case "review_period": reviewPeriod = try integer(1...1000)
        case "unit_cost": unitCost = try number { $0 >= 0 }
        case "cost_share": costShare = try number { $0 >= 0 && $0 < 1 }
        case "price": price = try number { $0 > 0 }
        case "holding_cost": holdingCost = try number { $0 >= 0 }
        case "holding_rate": holdingRate = try number { $0 >= 0 }
        case "shortage":
            guard let s = Shortage(rawValue: value) else { throw bad }
            shortage = s
        case "backorder_cost": backorderCost = try number { $0 >= 0 }
        default: throw bad
        }
    }

    /// Periods of demand one order must cover: until the order after it arrives.
    public var coverage: Int { leadTime + reviewPeriod }

    /// The money of the policy for a product whose price is `productPrice` (used when `price` is
    /// not set), with `periodsPerYear` periods a year. nil when neither gives a price.
    public func costs(productPrice: Double?, periodsPerYear: Double) -> Costs? {
        guard let p = price ?? productPrice.flatMap({ $0 > 0 ? $0 : nil }) else { return nil }
        let c = unitCost ?? costShare * p
        let h = holdingCost ?? holdingRate * c / periodsPerYear
        let margin = max(p - c, 0)
        return Costs(price: p, unitCost: c, holding: h,
                     shortage: shortage == .lostSales ? margin : (backorderCost ?? margin))
    }

    /// The policy's money for one product.
    public struct Costs: Sendable, Equatable {
        public var price: Double
        public var unitCost: Double
        /// Per unit held through a period.
        public var holding: Double
        /// Per unit short: the lost margin, or per unit per period backordered.
        public var shortage: Double

        public init(price: Double, unitCost: Double, holding: Double, shortage: Double) {
            self.price = price
            self.unitCost = unitCost
            self.holding = holding
            self.shortage = shortage
        }

        /// The newsvendor critical ratio cu / (cu + co): the probability of covering demand that
        /// balances the cost of a unit short against the cost of holding a unit one more period.
        /// With backorders and linear costs the order-up-to level at this ratio is optimal; with lost
        /// sales it is the standard approximation.
        public var criticalRatio: Double {
            let total = shortage + holding
            return total > 0 ? min(max(shortage / total, 0), 0.9999) : 0.5
        }
    }
}

/// A policy problem, naming the key and what it takes.
public struct PolicyError: Error, CustomStringConvertible, Sendable, Equatable {
    public var key: String
    public var message: String
    public init(key: String, message: String) {
        self.key = key
        self.message = message
    }
    public var description: String { "\(key): \(message)" }
}

/// Policies by product, by category and a default: the most specific one applies, key by key
/// (a category may set only its lead time and inherit the rest from the default).
public struct PolicyBook: Sendable, Equatable {
    public var defaults = InventoryPolicy()
    /// Keys set per category / per product, applied over the default in that order.
    public private(set) var categories: [String: [String: String]] = [:]
    public private(set) var products: [String: [String: String]] = [:]

    public init() {}

    /// Sets a key for the default (scope nil), a category or a product; checked at once.
    public mutating func set(_ key: String, _ value: String, category: String? = nil, product: String? = nil) throws(PolicyError) {
        var probe = defaults
        try probe.set(key, value)
        if let product {
            products[product, default: [:]][key] = value
        } else if let category {
            categories[category, default: [:]][key] = value
        } else {
            defaults = probe
        }
    }

    /// Forgets a product's own keys (a `costs` message with no keys).
    public mutating func clear(product: String) { products[product] = nil }

    /// The policy for a product of `category`; `own`: the product's keys from its costs events
    /// (checked when they arrived), over everything else.
    public func policy(product: String, category: String?, own: [String: String]? = nil) -> InventoryPolicy {
        var p = defaults
        // Keys were checked when set, so applying them cannot fail.
        for keys in [category.flatMap { categories[$0] }, products[product], own].compactMap({ $0 }) {
            for (k, v) in keys.sorted(by: { $0.key < $1.key }) { try? p.set(k, v) }
        }
        return p
    }

    /// Checks a product's own keys (a costs event); the error
    /// names the first key that does not take its value.
    public static func check(_ keys: [String: String]) throws(PolicyError) {
        var probe = InventoryPolicy()
        for (k, v) in keys.sorted(by: { $0.key < $1.key }) { try probe.set(k, v) }
    }

    /// The longest cover any policy in the book needs (it must fit in the forecast horizon).
    public var longestCoverage: Int {
        let scoped = Array(categories.keys).map { policy(product: "", category: $0).coverage }
            + Array(products.keys).map { policy(product: $0, category: nil).coverage }
        return ([defaults.coverage] + scoped).max()!
    }
}
