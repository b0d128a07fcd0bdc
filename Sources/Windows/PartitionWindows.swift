import Events

/// How events become periods.
public struct WindowConfig: Sendable, Equatable {
    public var period: Period
    /// Closed periods kept per product (L).
    public var length: Int
    /// How long after a period's end events for it are still accepted (ms).
    public var lateness: Int64
    /// Events more than this many periods ahead of their input's watermark are rejected.
    public var maxFuturePeriods: Int64
    /// An input whose watermark trails the partition's most advanced input by more than this many
    /// periods stops holding the watermark back (until it delivers again).
    public var idleInputPeriods: Int64

    public init(period: Period = .day, length: Int = 56, lateness: Int64? = nil,
                maxFuturePeriods: Int64 = 3, idleInputPeriods: Int64 = 8) {
        self.period = period
        self.length = length
        self.lateness = lateness ?? period.nominalMs / 4
        self.maxFuturePeriods = maxFuturePeriods
        self.idleInputPeriods = idleInputPeriods
    }
}

/// The windows of every product on one partition number, with one event-time watermark per input
/// topic.
///
/// Determinism: an event is late when ITS OWN input's watermark has passed its period's end plus
/// the lateness, and a period closes when the SLOWEST active input has. Both depend only on each
/// input's own order, never on how the consumer interleaves topics, so forecasts are a function of
/// the log (see docs/architecture.md for the idle-input caveat).
public struct PartitionWindows: Sendable {
    public let partition: Int32
    public let config: WindowConfig
    public internal(set) var watermarks: [String: Int64] = [:]
    /// Every period up to this one is closed for every product of the partition.
    public internal(set) var closedThrough: Int64?
    public internal(set) var products: [ProductWindow] = []
    var slots: [String: Int] = [:]
    /// Products changed since the last `takeDirty` (what the next checkpoint must write).
    var dirty = Set<Int>()

    public init(partition: Int32, config: WindowConfig) {
        self.partition = partition
        self.config = config
    }

    public func product(_ id: String) -> ProductWindow? { slots[id].map { products[$0] } }

    /// Adds one valid event; returns why it was rejected (late / too far in future), or nil.
    public mutating func ingest(_ e: Event, input: String) -> BadEvent? {
        let cal = config.period
        let p = cal.index(of: e.time)
        if let wm = watermarks[input] {
            if p > cal.index(of: wm) + config.maxFuturePeriods {
                return BadEvent(.tooFarInFuture, "event time \(Timestamp.format(e.time)) is more than \(config.maxFuturePeriods) \(cal.rawValue)s past watermark \(Timestamp.format(wm))")
            }
            if wm >= cal.end(of: p) + config.lateness {
                return BadEvent(.late, "period \(Timestamp.format(cal.start(of: p))) closed; watermark \(Timestamp.format(wm))")
            }
        }
        if let closed = closedThrough, p <= closed {
            return BadEvent(.late, "period \(Timestamp.format(cal.start(of: p))) already closed")
        }
        watermarks[input] = max(watermarks[input] ?? e.time, e.time)
        if closedThrough == nil { closedThrough = p - 1 }
        let slot: Int
        if let s = slots[e.product] {
            slot = s
        } else {
            slot = products.count
            products.append(ProductWindow(product: e.product, category: e.category, firstPeriod: p, length: config.length))
            slots[e.product] = slot
        }
        if let c = e.category, products[slot].category != c { products[slot].category = c }
        if e.kind == .price {
            products[slot].addPrice(effective: e.effective, notBefore: cal.start(of: p), price: e.quantity,
                                    promo: e.promo, announced: e.time)
        } else {
            products[slot].add(kind: e.kind, period: p, quantity: e.quantity)
        }
        dirty.insert(slot)
        return nil
    }

    /// The partition watermark: the minimum over inputs that are not idle.
    public var watermark: Int64? {
        guard let newest = watermarks.values.max() else { return nil }
        let idleBefore = newest - config.idleInputPeriods * config.period.nominalMs
        return watermarks.values.filter { $0 >= idleBefore }.min()
    }

    /// The last period the watermark allows to be closed.
    public var closable: Int64? {
        guard let wm = watermark else { return nil }
        return config.period.index(of: wm - config.lateness) - 1
    }

    /// Closes the next closable period for every product of the partition, visiting each product
    /// whose period closed (in first-seen order). Returns the closed period, or nil if none.
    @discardableResult
    public mutating func closeNext(_ visit: (ProductWindow) -> Void) -> Int64? {
        guard let closed = closedThrough, let limit = closable, limit > closed else { return nil }
        let p = closed + 1
        for i in products.indices where products[i].lastClosed < p {
            products[i].close(through: p, calendar: config.period)
            dirty.insert(i)
            visit(products[i])
        }
        closedThrough = p
        return p
    }

    /// Returns and clears the products changed since the last call.
    public mutating func takeDirty() -> [ProductWindow] {
        let out = dirty.sorted().map { products[$0] }
        dirty.removeAll(keepingCapacity: true)
        return out
    }

    /// Restores a product from a checkpoint.
    public mutating func restore(_ window: ProductWindow) {
        if let s = slots[window.product] {
            products[s] = window
        } else {
            slots[window.product] = products.count
            products.append(window)
        }
    }

    public mutating func restore(watermarks: [String: Int64], closedThrough: Int64?) {
        self.watermarks = watermarks
        self.closedThrough = closedThrough
    }
}
