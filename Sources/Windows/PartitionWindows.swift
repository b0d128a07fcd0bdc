import Events

/// How events become periods.
public struct WindowConfig: Sendable, Equatable {
    public var period: Period
    /// Closed periods kept per product (L).
    public var length: Int
    /// How long after a period's end events for it are still accepted (ms).
    public var lateness: Int64
    /// Sales and page views more than this many periods ahead of their input's watermark are
    /// rejected (a wrong clock would otherwise make every later event of the input late).
    public var maxFuturePeriods: Int64
    /// Products keep their whole price schedule (offline training only; `ProductWindow.keepsPriceHistory`).
    public var keepsPriceHistory = false

    public init(period: Period = .day, length: Int = 56, lateness: Int64? = nil,
                maxFuturePeriods: Int64 = 3) {
        self.period = period
        self.length = length
        self.lateness = lateness ?? period.nominalMs / 4
        self.maxFuturePeriods = maxFuturePeriods
    }
}

/// The windows of every product on one partition number, with one event-time watermark per input
/// (input = one input topic's partition with this number).
///
/// Determinism (forecasts are a function of the log, however the consumer interleaves topics):
/// - an event is late when ITS OWN input's watermark has passed its period's end + lateness;
/// - a period closes when every ACTIVE input's watermark has passed it. An input is active from its
///   first message until the source reports it caught up (end of partition); an input registered
///   but not heard from yet blocks closing. When every input is caught up, the partition's time is
///   the latest event time seen. So a closed period always holds exactly its non-late events.
public struct PartitionWindows: Sendable {
    public struct Input: Sendable, Equatable {
        public var watermark: Int64?
        /// Caught up with the end of its partition (its data so far has all been read).
        public var idle = false
    }

    public let partition: Int32
    public let config: WindowConfig
    /// Inputs in registration order; a linear scan over these few beats hashing per event.
    public internal(set) var inputNames: [String] = []
    var inputStates: [Input] = []
    /// Every period up to this one is closed for every product of the partition.
    public internal(set) var closedThrough: Int64?
    public internal(set) var products: [ProductWindow] = []
    /// The earliest first period of any product (kept as products come, so that the check for a
    /// first close, made on every event before it, is O(1) and not a scan of every product).
    var earliestPeriod: Int64?
    var slots: [String: Int] = [:]
    /// Products changed since the last `takeDirtySlots` (what the next checkpoint must write).
    var dirtyFlags: [Bool] = []
    var dirtySlots: [Int] = []

    public var inputs: [String: Input] { Dictionary(uniqueKeysWithValues: zip(inputNames, inputStates)) }
    public var watermarks: [String: Int64] { inputs.compactMapValues(\.watermark) }

    /// Index of an input, registering it on first sight.
    mutating func inputIndex(_ name: String) -> Int {
        if let i = inputNames.firstIndex(of: name) { return i }
        inputNames.append(name)
        inputStates.append(Input())
        return inputNames.count - 1
    }

    mutating func markDirty(_ slot: Int) {
        if slot >= dirtyFlags.count { dirtyFlags += Array(repeating: false, count: slot + 1 - dirtyFlags.count) }
        if !dirtyFlags[slot] {
            dirtyFlags[slot] = true
            dirtySlots.append(slot)
        }
    }

    public init(partition: Int32, config: WindowConfig) {
        self.partition = partition
        self.config = config
    }

    public func product(_ id: String) -> ProductWindow? { slots[id].map { products[$0] } }
    public func slot(of id: String) -> Int? { slots[id] }

    /// Adds one valid event; returns why it was rejected (late / too far in future), or nil.
    public mutating func ingest(_ e: Event, input: String) -> BadEvent? {
        let cal = config.period
        let p = cal.index(of: e.time)
        // A message arrived: the input is active again, whatever happens to the event.
        let ix = inputIndex(input)
        inputStates[ix].idle = false
        if let wm = inputStates[ix].watermark {
            // Price feeds are sparse (quiet for weeks is normal), so the check would reject valid
            // changes there; a wrong price time only affects later price events of the partition.
            if e.kind != .price && p > cal.index(of: wm) + config.maxFuturePeriods {
                return BadEvent(.tooFarInFuture, "event time \(Timestamp.format(e.time)) is more than \(config.maxFuturePeriods) \(cal.rawValue)s past watermark \(Timestamp.format(wm))")
            }
            if wm >= cal.end(of: p) + config.lateness {
                return BadEvent(.late, "period \(Timestamp.format(cal.start(of: p))) closed; watermark \(Timestamp.format(wm))")
            }
        }
        inputStates[ix].watermark = max(inputStates[ix].watermark ?? e.time, e.time)
        if let closed = closedThrough, p <= closed {
            return BadEvent(.late, "period \(Timestamp.format(cal.start(of: p))) already closed")
        }
        let slot: Int
        if let s = slots[e.product] {
            slot = s
            // Topics interleave differently from run to run, so the first event read for a product
            // need not be its earliest: until its first close, its life starts at the earliest
            // period seen (everything before its first close has been read by then).
            if p < products[s].firstPeriod && products[s].lastClosed == products[s].firstPeriod - 1 {
                products[s].firstPeriod = p
                products[s].lastClosed = p - 1
                earliestPeriod = min(earliestPeriod ?? p, p)
            }
        } else {
            slot = products.count
            var window = ProductWindow(product: e.product, category: e.category, firstPeriod: p, length: config.length)
            window.keepsPriceHistory = config.keepsPriceHistory
            products.append(window)
            slots[e.product] = slot
            earliestPeriod = min(earliestPeriod ?? p, p)
        }
        if let c = e.category, products[slot].category != c { products[slot].category = c }
        if e.kind == .price {
            products[slot].addPrice(effective: e.effective, notBefore: cal.start(of: p), price: e.quantity,
                                    promo: e.promo, announced: e.time)
        } else if e.kind == .inventory {
            products[slot].addStock(StockSnapshot(time: e.time, onHand: e.quantity, onOrder: e.onOrder))
        } else if e.kind == .costs {
            products[slot].addPolicy(PolicySnapshot(time: e.time, keys: e.policy))
        } else {
            products[slot].add(kind: e.kind, period: p, quantity: e.quantity)
        }
        markDirty(slot)
        return nil
    }

    /// Declares an input the partition must hear from (or see caught up) before closing periods.
    public mutating func register(input: String) { _ = inputIndex(input) }

    /// The source reached the end of this input: everything it holds so far has been read.
    public mutating func markIdle(input: String) {
        inputStates[inputIndex(input)].idle = true
    }

    /// The partition watermark: the minimum over active inputs; nil while a registered input has
    /// not been heard from; the newest event time once every input is caught up.
    public var watermark: Int64? {
        var minActive: Int64? = nil
        var newest: Int64? = nil
        for i in inputStates {
            if !i.idle {
                guard let wm = i.watermark else { return nil }
                minActive = min(minActive ?? wm, wm)
            }
            if let wm = i.watermark { newest = max(newest ?? wm, wm) }
        }
        return minActive ?? newest
    }

    /// The last period the watermark allows to be closed.
    public var closable: Int64? {
        guard let wm = watermark else { return nil }
        return config.period.index(of: wm - config.lateness) - 1
    }

    /// Closes the next closable period for every product of the partition, visiting each product
    /// whose period closed (in first-seen order) with its slot number. Returns the closed period, or nil if none.
    @discardableResult
    public mutating func closeNext(_ visit: (_ slot: Int, ProductWindow) -> Void) -> Int64? {
        guard let limit = closable, let first = closedThrough.map({ $0 + 1 }) ?? earliestPeriod,
              limit >= first else { return nil }
        let p = first
        for i in products.indices where products[i].lastClosed < p {
            products[i].close(through: p, calendar: config.period)
            markDirty(i)
            visit(i, products[i])
        }
        closedThrough = p
        return p
    }

    /// Closes every period through `period` whatever the watermark says: the end of a finite
    /// history (training, offline analysis), never the stream.
    public mutating func forceClose(through period: Int64) {
        for i in products.indices where products[i].lastClosed < period {
            products[i].close(through: period, calendar: config.period)
            markDirty(i)
        }
        closedThrough = max(closedThrough ?? period, period)
    }

    /// Returns and clears the products (with their slots) changed since the last call.
    public mutating func takeDirtySlots() -> [(slot: Int, window: ProductWindow)] {
        let out = dirtySlots.sorted().map { ($0, products[$0]) }
        for slot in dirtySlots { dirtyFlags[slot] = false }
        dirtySlots.removeAll(keepingCapacity: true)
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
        earliestPeriod = min(earliestPeriod ?? window.firstPeriod, window.firstPeriod)
    }

    public mutating func restore(watermarks: [String: Int64], closedThrough: Int64?) {
        for (input, wm) in watermarks.sorted(by: { $0.key < $1.key }) { inputStates[inputIndex(input)] = Input(watermark: wm) }
        self.closedThrough = closedThrough
    }
}
