import Events

/// A price change: from `effective` on, the product sells at `price`.
public struct PriceChange: Sendable, Equatable {
    public var effective: Int64
    public var price: Float
    public var promo: Bool
    /// Event time of the announcement; breaks ties between changes with the same `effective`.
    public var announced: Int64

    public init(effective: Int64, price: Float, promo: Bool, announced: Int64) {
        self.effective = effective
        self.price = price
        self.promo = promo
        self.announced = announced
    }

    /// The price and promo flag in force over [from, to) under `changes` (ordered by effective
    /// time), counting only those announced before `asOf`: time-weighted mean price, promo if any
    /// promotional price was in force. Price 0 = never priced.
    public static func price(_ changes: [PriceChange], from: Int64, to: Int64, asOf: Int64 = .max) -> (price: Float, promo: Bool) {
        var current: PriceChange? = nil
        var weighted = 0.0, covered: Int64 = 0
        var promo = false
        var cursor = from
        for change in changes where change.announced < asOf {
            if change.effective <= from { current = change; continue }
            if change.effective >= to { break }
            if let c = current {
                weighted += Double(c.price) * Double(change.effective - cursor)
                covered += change.effective - cursor
                promo = promo || c.promo
            }
            current = change
            cursor = change.effective
        }
        if let c = current {
            weighted += Double(c.price) * Double(to - cursor)
            covered += to - cursor
            promo = promo || c.promo
        }
        return covered > 0 ? (Float(weighted / Double(covered)), promo) : (0, false)
    }
}

/// A product's stock as a snapshot said it was at `time`: on hand (negative: backordered) and on
/// order (not yet arrived).
public struct StockSnapshot: Sendable, Equatable, Comparable {
    public var time: Int64
    public var onHand: Double
    public var onOrder: Double

    public init(time: Int64, onHand: Double, onOrder: Double) {
        self.time = time
        self.onHand = onHand
        self.onOrder = onOrder
    }

    /// What an order-up-to policy orders against.
    public var inventoryPosition: Double { onHand + onOrder }

    public static func < (a: Self, b: Self) -> Bool { (a.time, a.onHand, a.onOrder) < (b.time, b.onHand, b.onOrder) }
}

/// A product's own cost policy from `time` on: policy keys and values as a costs event gave them
/// (the newest replaces the whole set).
public struct PolicySnapshot: Sendable, Equatable, Comparable {
    public var time: Int64
    public var keys: [String: String]

    public init(time: Int64, keys: [String: String]) {
        self.time = time
        self.keys = keys
    }

    /// By time, then by content, so arrival order never matters.
    public static func < (a: Self, b: Self) -> Bool {
        a.time != b.time ? a.time < b.time : a.keys.sorted(by: { $0.key < $1.key }).map { "\($0.key)=\($0.value)" } .lexicographicallyPrecedes(b.keys.sorted(by: { $0.key < $1.key }).map { "\($0.key)=\($0.value)" })
    }
}

/// Sums of a period that has not closed yet.
public struct OpenPeriod: Sendable, Equatable {
    public var index: Int64
    public var units: Double = 0
    public var views: Double = 0
}

/// One product's rolling window: the last `length` closed periods in fixed-size ring buffers,
/// the still-open periods' partial sums, and its price schedule (incl. announced future prices).
/// Memory is bounded: O(length) floats plus a few open periods and price changes.
public struct ProductWindow: Sendable, Equatable {
    public let product: String
    public var category: String?
    /// First period this product has (periods before it do not exist for it: cold start).
    public internal(set) var firstPeriod: Int64
    /// Last closed period (firstPeriod - 1 before the first close).
    public var lastClosed: Int64
    public let length: Int
    /// Ring buffers over closed periods; `head` is where the next closed period goes.
    var unitsRing: [Float]
    var viewsRing: [Float]
    var priceRing: [Float]
    var promoRing: [UInt8]
    var head = 0
    /// Number of valid entries in the rings (≤ length).
    public internal(set) var filled = 0
    public internal(set) var open: [OpenPeriod] = []
    public internal(set) var prices: [PriceChange] = []
    /// Inventory snapshots by time: the one in force at the last close and any later ones.
    public internal(set) var stock: [StockSnapshot] = []
    /// Cost policies by time: the one in force at the last close and any later ones.
    public internal(set) var policies: [PolicySnapshot] = []
    /// Audit totals over every accepted event (prove nothing was lost or double counted).
    public internal(set) var acceptedEvents: Int64 = 0
    public internal(set) var totalUnits: Double = 0
    public internal(set) var totalViews: Double = 0
    /// Set on provisional copies only (never stored): price announcements after this time are
    /// not yet known to a forecast made from this window.
    public internal(set) var knownAsOf: Int64? = nil
    /// Keep every price change instead of dropping superseded ones (never stored): training needs
    /// the whole schedule to see each past FCT's future prices as they were known then.
    public var keepsPriceHistory = false

    public init(product: String, category: String?, firstPeriod: Int64, length: Int) {
        self.product = product
        self.category = category
        self.firstPeriod = firstPeriod
        self.lastClosed = firstPeriod - 1
        self.length = length
        unitsRing = Array(repeating: 0, count: length)
        viewsRing = Array(repeating: 0, count: length)
        priceRing = Array(repeating: 0, count: length)
        promoRing = Array(repeating: 0, count: length)
    }

    /// Adds a sale or page view to its (open) period.
    mutating func add(kind: EventKind, period: Int64, quantity: Double) {
        var slot = open.firstIndex { $0.index == period }
        if slot == nil {
            let at = open.firstIndex { $0.index > period } ?? open.count
            open.insert(OpenPeriod(index: period), at: at)
            slot = at
        }
        if kind == .sale {
            open[slot!].units += quantity
            totalUnits += quantity
        } else {
            open[slot!].views += quantity
            totalViews += quantity
        }
        acceptedEvents += 1
    }

    /// Records a price change. A change cannot reach back before the start of the period it was
    /// announced in (`notBefore`), which keeps closed periods' prices a function of the log alone.
    mutating func addPrice(effective: Int64, notBefore: Int64, price: Double, promo: Bool, announced: Int64) {
        let change = PriceChange(effective: max(effective, notBefore), price: Float(price), promo: promo, announced: announced)
        // Order by (effective, announced, price): the same set of changes gives the same schedule
        // whatever order they arrived in.
        let at = prices.firstIndex {
            ($0.effective, $0.announced, $0.price) > (change.effective, change.announced, change.price)
        } ?? prices.count
        prices.insert(change, at: at)
        acceptedEvents += 1
    }

    /// Records an inventory snapshot; the same set of snapshots gives the same schedule whatever
    /// order they arrived in.
    mutating func addStock(_ snapshot: StockSnapshot) {
        stock.insert(snapshot, at: stock.firstIndex { $0 > snapshot } ?? stock.count)
        acceptedEvents += 1
    }

    /// Records a product's cost policy (same ordering rule as snapshots).
    mutating func addPolicy(_ snapshot: PolicySnapshot) {
        policies.insert(snapshot, at: policies.firstIndex { $0 > snapshot } ?? policies.count)
        acceptedEvents += 1
    }

    /// The product's own policy keys in force before `time` (nil: none).
    public func policy(before time: Int64) -> [String: String]? { policies.last { $0.time < time }?.keys }

    /// The newest snapshot taken before `time` (nil: none yet).
    public func stock(before time: Int64) -> StockSnapshot? { stock.last { $0.time < time } }

    /// The price and promo flag in force over [from, to): time-weighted mean price, promo if any
    /// promotional price was in force. Price 0 = never priced.
    ///
    /// `asOf`: only changes announced before this time count. A forecast made at an FCT must see
    /// the schedule as it was known then, not whatever later announcements the consumer happened
    /// to have read already (the prices topic may run ahead of sales): otherwise a live run, a
    /// restart and a replay could forecast from different schedules.
    public func price(from: Int64, to: Int64, asOf: Int64 = .max) -> (price: Float, promo: Bool) {
        PriceChange.price(prices, from: from, to: to, asOf: asOf)
    }

    /// A copy in which the open period after the last closed one is closed early, at `time`, with
    /// its sales and views so far extrapolated to the whole period (an early refresh forecasts
    /// from it). The window itself is unchanged.
    public func provisionallyClosed(at time: Int64, calendar: Period) -> ProductWindow {
        var copy = self
        let p = lastClosed + 1
        let start = calendar.start(of: p), end = calendar.end(of: p)
        let elapsed = min(1, max(0.05, Double(time - start) / Double(end - start)))
        if let i = copy.open.firstIndex(where: { $0.index == p }) {
            copy.open[i].units /= elapsed
            copy.open[i].views /= elapsed
        }
        copy.close(through: p, calendar: calendar)
        copy.knownAsOf = time
        return copy
    }

    /// A copy whose price schedule holds a planned change to `price` (no promotion) from `from`,
    /// back to the schedule's own price at `to` (nil: for good), announced just before the next
    /// period starts, so a forecast from this window knows it (a price what-if). Changes the
    /// schedule had in [from, to) are replaced; the window itself is unchanged.
    public func withPlannedPrice(_ price: Double, from: Int64, to: Int64?, calendar: Period) -> ProductWindow {
        var copy = self
        let announced = calendar.start(of: lastClosed + 1) - 1
        let known = prices.filter { $0.announced <= announced }
        let after = to.map { PriceChange.price(known, from: $0, to: $0 + 1).price }
        copy.prices = known.filter { $0.effective < from || (to != nil && $0.effective >= to!) }
        copy.addPrice(effective: from, notBefore: from, price: price, promo: false, announced: announced)
        if let to, let after, after > 0 { copy.addPrice(effective: to, notBefore: to, price: Double(after), promo: false, announced: announced) }
        copy.acceptedEvents = acceptedEvents
        return copy
    }

    /// Closes every period up to `period`: moves their sums (or zeros) into the rings.
    mutating func close(through period: Int64, calendar: Period) {
        while lastClosed < period {
            let p = lastClosed + 1
            var units = 0.0, views = 0.0
            if let first = open.first, first.index == p {
                units = first.units
                views = first.views
                open.removeFirst()
            }
            let (price, promo) = price(from: calendar.start(of: p), to: calendar.end(of: p))
            unitsRing[head] = Float(units)
            viewsRing[head] = Float(views)
            priceRing[head] = price
            promoRing[head] = promo ? 1 : 0
            head = (head + 1) % length
            filled = min(filled + 1, length)
            lastClosed = p
        }
        prunePrices(before: calendar.start(of: lastClosed + 1))
        // Keep the snapshot in force at the next FCT and any later ones.
        let next = calendar.start(of: lastClosed + 1)
        if let inForce = stock.lastIndex(where: { $0.time < next }), inForce > 0 { stock.removeFirst(inForce) }
        if let inForce = policies.lastIndex(where: { $0.time < next }), inForce > 0 { policies.removeFirst(inForce) }
    }

    /// Drops price changes superseded before `time` (keeps the one in force at `time`).
    mutating func prunePrices(before time: Int64) {
        guard !keepsPriceHistory else { return }
        // Keep the change in force at `time` as seen from any later FCT (announced before it too).
        guard let lastBefore = prices.lastIndex(where: { $0.effective <= time && $0.announced < time }), lastBefore > 0 else { return }
        prices.removeFirst(lastBefore)
    }

    /// The last `count` closed values of a series, oldest first (fewer if not yet filled).
    public func recent(_ series: Series, count: Int? = nil) -> [Float] {
        let n = min(count ?? filled, filled)
        let ring: [Float]
        switch series {
        case .units: ring = unitsRing
        case .views: ring = viewsRing
        case .price: ring = priceRing
        case .promo: ring = promoRing.map(Float.init)
        }
        return (0..<n).map { ring[(head - n + $0 + length) % length] }
    }

    public enum Series: Sendable { case units, views, price, promo }
}
