import Foundation
import NeuralNet
import Windows

/// One product's per-period history, as the network sees it (oldest first).
public struct ProductSeries: Sendable {
    public var product: String
    public var category: Int
    /// Period index of units[0].
    public var firstPeriod: Int64
    public var units: [Float]
    public var views: [Float]
    public var price: [Float]
    public var promo: [Float]
    /// The whole price schedule with each change's announcement time, when the series was built
    /// from a log (training): a past FCT's target prices are then the ones announced by that FCT,
    /// as serving sees them, not the ones the log later shows. Empty: the closed periods' prices.
    public var priceChanges: [PriceChange] = []

    public init(product: String, category: Int, firstPeriod: Int64, units: [Float], views: [Float], price: [Float], promo: [Float]) {
        self.product = product
        self.category = category
        self.firstPeriod = firstPeriod
        self.units = units
        self.views = views
        self.price = price
        self.promo = promo
    }

    /// The window's closed periods as a series (serving).
    public init(window: ProductWindow, categories: Int) {
        let units = window.recent(.units)
        self.init(product: window.product, category: ProductSeries.categoryIndex(window.category, categories: categories),
                  firstPeriod: window.lastClosed - Int64(units.count) + 1, units: units, views: window.recent(.views),
                  price: window.recent(.price), promo: window.recent(.promo))
        if window.keepsPriceHistory { priceChanges = window.prices }
    }

    /// Target i's (price, promo) as known at FCT index t: from the changes announced by the
    /// end of period t (as serving reads the schedule), else the closed period's own values.
    public func knownPrice(_ i: Int, fct t: Int, period: Period) -> (Float, Float)? {
        guard !priceChanges.isEmpty else { return i < price.count ? (price[i], promo[i]) : nil }
        let p = firstPeriod + Int64(i)
        let (known, promo) = PriceChange.price(priceChanges, from: period.start(of: p), to: period.end(of: p), asOf: period.end(of: firstPeriod + Int64(t)))
        return (known, promo ? 1 : 0)
    }

    /// Categories map to embedding rows by a stable hash (unknown → the last row).
    public static func categoryIndex(_ name: String?, categories: Int) -> Int {
        guard let name else { return categories }
        var h: UInt32 = 2_166_136_261
        for b in name.utf8 { h = (h ^ UInt32(b)) &* 16_777_619 }
        return Int(h % UInt32(categories))
    }

    /// How many periods of these series up to `last` (a period index; training reads nothing
    /// after its range) are promoted, and the share of them whose price is at least 5 % under the
    /// product's usual (median) price then: whether promotions are price cuts in a log (a
    /// promotion's lift as a factor beside the elasticity only makes sense where they are;
    /// walmart's markdown flags, for one, come at an unchanged price).
    public static func promotionsCutThePrice(_ series: [ProductSeries], through last: Int64 = .max) -> (promoted: Int, share: Double) {
        var promoted = 0, cuts = 0
        for s in series {
            let n = last >= s.firstPeriod + Int64(s.price.count) ? s.price.count : max(0, Int(last - s.firstPeriod + 1))
            let known = s.price.prefix(n).filter { $0 > 0 }.sorted()
            let reference = known.isEmpty ? 0 : known[known.count / 2]
            for (price, promo) in zip(s.price.prefix(n), s.promo.prefix(n)) where promo > 0 && price > 0 {
                promoted += 1
                if price < 0.95 * reference { cuts += 1 }
            }
        }
        return (promoted, promoted == 0 ? 0 : Double(cuts) / Double(promoted))
    }

    /// A reference price: the median of the known (non-zero) prices.
    public var referencePrice: Float {
        let known = price.filter { $0 > 0 }.sorted()
        return known.isEmpty ? 0 : known[known.count / 2]
    }
}

/// Turns series into network batches: scaling, past/future features, calendar encodings.
public struct FeatureBuilder: Sendable {
    public let config: MQConfig
    public let period: Period
    /// Days (since 1970) with a holiday/event.
    public let holidays: Set<Int>
    /// The named events behind the per-event features (`config.eventFeatures` of them).
    public let events: EventCalendar

    public init(config: MQConfig, period: Period, holidays: Set<Int>, events: EventCalendar = EventCalendar([])) {
        precondition(config.eventFeatures == 0 || config.eventFeatures == events.featureCount,
                     "the network expects \(config.eventFeatures) event features, the calendar gives \(events.featureCount)")
        self.config = config
        self.period = period
        self.holidays = holidays
        self.events = events
    }

    func holiday(_ p: Int64) -> Float {
        let d0 = Int(period.start(of: p) / 86_400_000), d1 = Int((period.end(of: p) - 1) / 86_400_000)
        return (d0...d1).contains { holidays.contains($0) } ? 1 : 0
    }

    /// sin/cos of the position in the week and in the year.
    func calendar(_ p: Int64) -> [Float] {
        let start = period.start(of: p)
        let day = Double(start / 86_400_000)
        let dow = (day + 3).truncatingRemainder(dividingBy: 7) / 7
        let doy = day.truncatingRemainder(dividingBy: 365.25) / 365.25
        return [Float(sin(2 * .pi * dow)), Float(cos(2 * .pi * dow)), Float(sin(2 * .pi * doy)), Float(cos(2 * .pi * doy))]
    }

    /// Scale s = 1 + mean |y| over the context.
    public func scale(_ s: ProductSeries, fct t: Int) -> Float {
        let from = max(0, t - config.context + 1)
        guard t >= from, t < s.units.count else { return 1 }
        var total: Float = 0
        for i in from...t { total += abs(s.units[i]) }
        return 1 + total / Float(t - from + 1)
    }

    /// One example per (series, fct index t): context periods t−L+1…t, targets t+1…t+H.
    /// `futurePrices` gives the known-future (price, promo) of each target (nil: the schedule's).
    public func batch(_ examples: [(series: ProductSeries, t: Int, futurePrices: [(Float, Float)]?, memory: [[Float]]?)]) -> (MQBatch, scales: [Float]) {
        let c = config, L = c.context, H = c.horizons
        // Calendar and holiday features depend only on the period: computed once per period the
        // batch touches (a period close's batch shares one FCT, so L + H periods in all).
        let periods = examples.map { ($0.series.firstPeriod + Int64($0.t - L + 1), $0.series.firstPeriod + Int64($0.t + H)) }
        let lowest = periods.map(\.0).min() ?? 0, highest = periods.map(\.1).max() ?? 0
        let lookup = PeriodLookup(builder: self, table: highest - lowest < 100_000 ? PeriodTable(self, from: lowest, through: highest) : nil)
        var rows = BatchRows(c, examples: examples.count)
        for (e, ex) in examples.enumerated() {
            let scale = scale(ex.series, fct: ex.t)
            rows.scales.append(scale)
            rows.addContext(e, ex.series, t: ex.t, scale: scale, lookup)
            rows.addTargets(e, ex.series, t: ex.t, scale: scale, futurePrices: ex.futurePrices, period: period, lookup)
            rows.addMemory(e, ex.memory)
        }
        return (rows.batch(categories: examples.map { $0.series.category }), rows.scales)
    }
}

/// Period features through the batch's table (or computed, for a batch spanning too many periods).
struct PeriodLookup {
    let builder: FeatureBuilder
    let table: PeriodTable?

    /// Everything about period p that does not depend on the product.
    func features(_ p: Int64) -> (cal: [Float], holiday: Float, events: [Float]) {
        if let table { let row = table[p]; return (row.cal, row.holiday, row.events ?? []) }
        return (builder.calendar(p), builder.holiday(p), builder.config.eventFeatures > 0 ? builder.events.features(builder.period, p) : [])
    }
}

/// The matrices of one batch as its examples fill them: context rows e·L + j, target rows
/// e·H + k, memory rows e·R + j.
struct BatchRows {
    let c: MQConfig
    var past: Matrix, contextCalendar: Matrix, targetCalendar: Matrix, future: Matrix, memory: Matrix
    var mask: [[Bool]] = []
    var scales: [Float] = []
    var priceChange: [Float], promoChange: [Float]
    let promoLift: Bool

    init(_ c: MQConfig, examples b: Int) {
        self.c = c
        past = Matrix(rows: b * c.context, cols: c.pastFeatures)
        contextCalendar = Matrix(rows: b * c.context, cols: c.calendarFeatures)
        targetCalendar = Matrix(rows: b * c.horizons, cols: c.calendarFeatures)
        future = Matrix(rows: b * c.horizons, cols: c.futureFeatures)
        memory = Matrix(rows: b * c.memory, cols: c.memoryWidth)
        promoLift = c.priceElasticity && c.promoLift
        priceChange = [Float](repeating: 0, count: c.priceElasticity ? b * c.horizons : 0)
        promoChange = [Float](repeating: 0, count: promoLift ? b * c.horizons : 0)
    }

    /// Context periods t−L+1…t of example e: y/s, log1p(views/s), log price ratio, promo,
    /// holiday, age [, level]; and their calendar.
    mutating func addContext(_ e: Int, _ s: ProductSeries, t: Int, scale: Float, _ lookup: PeriodLookup) {
        let L = c.context, ref = s.referencePrice
        for j in 0..<L {
            let i = t - L + 1 + j, row = e * L + j
            let (cal, isHoliday, _) = lookup.features(s.firstPeriod + Int64(i))
            for f in 0..<min(4, c.calendarFeatures) { contextCalendar[row, f] = cal[f] }
            guard i >= 0, i < s.units.count else { continue }
            let n = c.pastFeatures
            if n > 0 { past[row, 0] = s.units[i] / scale }
            if n > 1 { past[row, 1] = log1p(max(0, s.views[i]) / scale) }
            if n > 2 { past[row, 2] = s.price[i] > 0 && ref > 0 ? log(s.price[i] / ref) : 0 }
            if n > 3 { past[row, 3] = s.promo[i] }
            if n > 4 { past[row, 4] = isHoliday }
            if n > 5 { past[row, 5] = min(Float(i + 1), 52) / 52 }
            // The series' level itself (inputs are otherwise scale-free): how noisy a series
            // is relative to its level depends on it (a big store-department is smoother).
            if n > 6 { past[row, 6] = log1p(scale) / 10 }
        }
    }

    /// Targets t+1…t+H of example e: the price (as the elasticity's log change, or a log ratio
    /// input), promo (as the lift's change, or an input), holiday, the value one season back and
    /// whether it exists, the named events; and their calendar.
    mutating func addTargets(_ e: Int, _ s: ProductSeries, t: Int, scale: Float, futurePrices: [(Float, Float)]?, period: Period,
                             _ lookup: PeriodLookup) {
        let H = c.horizons, ref = s.referencePrice, firstEventColumn = c.futureFeatures - c.eventFeatures
        let lastPrice = t >= 0 && t < s.price.count ? s.price[t] : 0
        let promoNow = t >= 0 && t < s.promo.count ? s.promo[t] : 0
        for k in 0..<H {
            let i = t + 1 + k, row = e * H + k
            let (cal, isHoliday, eventFlags) = lookup.features(s.firstPeriod + Int64(i))
            for f in 0..<min(4, c.calendarFeatures) { targetCalendar[row, f] = cal[f] }
            let (price, promo): (Float, Float) = futurePrices?[k] ?? s.knownPrice(i, fct: t, period: period) ?? (lastPrice, 0)
            // The same period one season earlier (known at the FCT): a seasonal-naive anchor.
            let back = i - period.season
            let seasonKnown = back >= 0 && back < s.units.count && back <= t
            let n = firstEventColumn
            if c.priceElasticity {
                // The price acts through the elasticity alone: log(target / now), bounded to
                // a factor of e (beyond it a price is more likely wrong than planned).
                if price > 0 && lastPrice > 0 { priceChange[row] = max(-1, min(1, log(price / lastPrice))) }
            } else if n > 0 {
                future[row, 0] = price > 0 && ref > 0 ? log(price / ref) : 0
            }
            // With the promotion's lift a factor, its flag is not an input (the column stays 0).
            if promoLift { promoChange[row] = promo - promoNow } else if n > 1 { future[row, 1] = promo }
            if n > 2 { future[row, 2] = isHoliday }
            if n > 3 { future[row, 3] = seasonKnown ? s.units[back] / scale : 0 }
            // Whether there is a season-ago value at all: 0 above is also a real zero sale.
            if n > 4 { future[row, 4] = seasonKnown ? 1 : 0 }
            for (j, flag) in eventFlags.enumerated() where flag != 0 { future[row, firstEventColumn + j] = flag }
        }
    }

    /// The memory entries of example e, and which each horizon may attend to (entries with any
    /// known error).
    mutating func addMemory(_ e: Int, _ entries: [[Float]]?) {
        let H = c.horizons, R = c.memory
        var m: [Bool] = Array(repeating: false, count: H * R)
        if let entries {
            for (j, entry) in entries.prefix(R).enumerated() {
                for f in 0..<c.memoryWidth { memory[e * R + j, f] = entry[f] }
                let known = (0..<H).contains { entry[H + $0] > 0 }
                for k in 0..<H { m[k * R + j] = known }
            }
        }
        mask.append(m)
    }

    func batch(categories: [Int]) -> MQBatch {
        MQBatch(size: categories.count, past: past, contextCalendar: contextCalendar, targetCalendar: targetCalendar, future: future,
                categories: categories, memory: memory, memoryMask: mask, priceChange: priceChange, promoChange: promoChange,
                level: c.priceElasticity ? scales.map { log1p($0) / 10 } : [])
    }
}

/// Calendar encodings, holiday flags and event features for a contiguous range of periods,
/// computed once.
struct PeriodTable {
    let first: Int64
    let calendars: [[Float]]
    let holidays: [Float]
    let events: [[Float]]

    init(_ builder: FeatureBuilder, from: Int64, through: Int64) {
        first = from
        let range = from...max(from, through)
        calendars = range.map { builder.calendar($0) }
        holidays = range.map { builder.holiday($0) }
        events = builder.config.eventFeatures > 0 ? range.map { builder.events.features(builder.period, $0) } : []
    }

    subscript(p: Int64) -> (cal: [Float], holiday: Float, events: [Float]?) {
        let i = Int(p - first)
        return (calendars[i], holidays[i], events.isEmpty ? nil : events[i])
    }
}
