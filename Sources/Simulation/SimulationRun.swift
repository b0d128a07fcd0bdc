import Events
import Foundation
import Windows

/// The simulator's state as it steps through the periods (`Simulator.generate`): the market (the
/// categories' weekly and yearly patterns and their shared factor), the products, and the events
/// written but not yet delivered. Every random draw comes from `rng` in a fixed order (the wander
/// from a stream of its own), so a seed gives the same bytes.
struct SimulationRun {
    let c: SimulationConfig
    var rng: SplitMix64
    var wanderRNG: SplitMix64
    let first: Int64
    let periodDays: Double
    let weekly: [[Double]]
    let yearlyAmplitude: [Double], yearlyPhase: [Double]
    var categoryFactor: [Double]
    var products: [SimProduct]
    /// Which products each drift hits (a seeded choice).
    let drifted: [[Int]]
    let wanderShift: Double
    let holidays: HolidayEffects
    var out = EventLineWriter()
    /// Events written before this period that arrive after its end.
    var pending: [(emit: Int64, bytes: [UInt8])] = []
    /// This period's events: arrival time and their bytes in `out`.
    var entries: [(emit: Int64, start: Int, end: Int)] = []
    var count = 0

    init(_ c: SimulationConfig) {
        self.c = c
        var rng = SplitMix64(seed: c.seed)
        first = c.period.index(of: c.start)
        periodDays = Double(c.period.nominalMs) / 86_400_000
        let categories = 8
        weekly = (0..<categories).map { _ in
            let raw = (0..<7).map { _ in 0.6 + 0.8 * rng.uniform() }
            let mean = raw.reduce(0, +) / 7
            return raw.map { $0 / mean }
        }
        yearlyAmplitude = (0..<categories).map { _ in 0.4 * rng.uniform() }
        yearlyPhase = (0..<categories).map { _ in 2 * Double.pi * rng.uniform() }
        categoryFactor = [Double](repeating: 0, count: categories)
        let periodDays = periodDays
        var products = (0..<c.products).map { i in SimProduct(index: i, categories: categories, periods: c.periods, periodDays: periodDays, mix: c.mix, rng: &rng) }
        if c.without.contains(.growth) { for i in products.indices { products[i].growth = 1 } }
        // The wander draws from its own stream, so a log with it differs from the same seed's log
        // without it only by the wander. Deviations start stationary; exp(d − v/2) has mean 1.
        wanderRNG = SplitMix64(seed: c.seed ^ 0x5EED_0F_3A4D_E2)
        if let w = c.levelWander { for i in products.indices { products[i].wander = w.stationarySD * wanderRNG.normal() } }
        wanderShift = c.levelWander.map { $0.stationarySD * $0.stationarySD / 2 } ?? 0
        var drifted: [[Int]] = []
        for spec in c.drifts {
            var chosen: [Int] = []
            for i in products.indices where rng.uniform() < spec.share { chosen.append(i) }
            drifted.append(chosen)
        }
        self.drifted = drifted
        self.products = products
        self.rng = rng
        holidays = HolidayEffects(c.calendar)
    }

    /// Product p's mean demand in period t (t may lie ahead: page views lead demand).
    func mean(_ p: SimProduct, _ t: Int) -> Double {
        let cal = c.period
        let start = cal.start(of: first + Int64(t)), end = cal.end(of: first + Int64(t))
        let day0 = Int(start / 86_400_000), day1 = Int((end - 1) / 86_400_000)
        var m = p.level * pow(p.growth, Double(t))
        if (cal == .day || cal == .hour) && !c.without.contains(.weekly) {
            let w = weekly[p.category][Timestamp.dayOfWeek(start)]
            m *= 1 + (w - 1) * p.seasonalScale
        }
        let dayOfYear = Double(day0 % 365) / 365
        if !c.without.contains(.yearly) {
            m *= 1 + yearlyAmplitude[p.category] * p.seasonalScale * sin(2 * .pi * dayOfYear + yearlyPhase[p.category])
        }
        let price = p.price(at: start + (end - start) / 2)
        m *= pow(price.value / p.referencePrice, p.elasticity) * (price.promo ? 1.25 : 1)
        if !c.without.contains(.holidays) { m *= holidays.multiplier(days: day0, day1) }
        if !c.without.contains(.category) { m *= exp(categoryFactor[p.category]) }
        if c.levelWander != nil { m *= exp(p.wander - wanderShift) }
        return max(m, 0)
    }

    /// Period t: drifts that start, the market's and the products' moves, every active product's
    /// events; then delivers what has arrived by the period's end.
    mutating func period(_ t: Int, write: (UnsafeRawBufferPointer) -> Void, truth: ((TruthRow) -> Void)?, drift: ((DriftRecord) -> Void)?) {
        let p = first + Int64(t)
        let start = c.period.start(of: p), length = c.period.end(of: p) - start
        for (d, spec) in c.drifts.enumerated() where spec.period == t {
            for i in drifted[d] {
                products[i].apply(spec)
                drift?(DriftRecord(product: products[i].id, spec: spec, periodStart: start))
            }
        }
        for k in categoryFactor.indices { categoryFactor[k] = 0.95 * categoryFactor[k] + 0.03 * rng.normal() }
        if let w = c.levelWander, t > 0 {
            for i in products.indices { products[i].wander = w.persistence * products[i].wander + w.sd * wanderRNG.normal() }
        }
        entries.removeAll(keepingCapacity: true)
        out.bytes.removeAll(keepingCapacity: true)
        for i in products.indices where products[i].isActive(t) {
            var product = products[i]
            events(of: &product, t: t, start: start, length: length, truth: truth)
            products[i] = product
        }
        deliver(before: start + length, write: write)
    }

    /// A product's events of period t: its prices (the launch price, then promotions and price
    /// changes announced ahead), its sales (a negative binomial draw in baskets) and its page views
    /// (following demand `viewLeadDays` ahead, interpolated between periods).
    mutating func events(of prod: inout SimProduct, t: Int, start: Int64, length: Int64, truth: ((TruthRow) -> Void)?) {
        let product = prod.idBytes, category = prod.categoryBytes
        if t == prod.launch {
            let s = out.bytes.count
            out.event(.price, product: product, category: category, time: start, quantity: prod.currentPrice)
            entries.append((start, s, out.bytes.count)); count += 1
        }
        for change in prod.plan(t: t, start: start, length: length, rng: &rng, without: c.without) {
            let s = out.bytes.count
            let ts = start + Int64(rng.uniform() * Double(length / 2))
            out.event(.price, product: product, category: category, time: ts, quantity: change.price,
                      effective: change.effective, promo: change.promo)
            entries.append((arrival(ts, length), s, out.bytes.count)); count += 1
        }
        let mu = mean(prod, t)
        let units = rng.negativeBinomial(mean: mu, shape: prod.shape)
        if let truth {
            let dist = NegativeBinomial(mean: mu, shape: prod.shape)
            truth(TruthRow(product: prod.id, periodStart: start, mean: mu, shape: prod.shape,
                           quantiles: dist.quantiles(c.truthQuantiles), units: units, elasticity: prod.elasticity))
        }
        var left = units
        while left > 0 {
            let basket = min(left, rng.uniform() < 0.8 ? 1 : 2 + Int(rng.uniform() * 3))
            let ts = start + Int64(rng.uniform() * Double(length))
            let s = out.bytes.count
            out.event(.sale, product: product, category: category, time: ts, quantity: Double(basket))
            let late = rng.uniform() < c.lateShare
            entries.append((arrival(ts, length, late: late), s, out.bytes.count)); count += 1
            left -= basket
        }
        let ahead = prod.viewLeadDays / periodDays
        let whole = Int(ahead), frac = ahead - Double(whole)
        let muAhead = (1 - frac) * mean(prod, t + whole) + frac * mean(prod, t + whole + 1)
        var views = rng.poisson(prod.viewsPerUnit * muAhead)
        if c.without.contains(.views) { views = 0 }
        while views > 0 {
            let batch = min(views, 1 + Int(rng.uniform() * 5))
            let ts = start + Int64(rng.uniform() * Double(length))
            let s = out.bytes.count
            out.event(.pageView, product: product, category: category, time: ts, quantity: Double(batch))
            entries.append((arrival(ts, length), s, out.bytes.count)); count += 1
            views -= batch
        }
    }

    /// When an event of time `time` arrives: after a small random delay, or 1.5 periods late.
    mutating func arrival(_ time: Int64, _ length: Int64, late: Bool = false) -> Int64 {
        if late { return time + length + length / 2 }
        return time + min(Int64(-log(1 - rng.uniform()) * Double(length) * 0.01), length / 10)
    }

    /// Writes, in arrival order, everything that has arrived by `end`; keeps the rest.
    mutating func deliver(before end: Int64, write: (UnsafeRawBufferPointer) -> Void) {
        var ready: [(emit: Int64, bytes: ArraySlice<UInt8>)] = []
        var keep: [(emit: Int64, bytes: [UInt8])] = []
        for e in pending { if e.emit < end { ready.append((e.emit, e.bytes[...])) } else { keep.append(e) } }
        for e in entries {
            if e.emit < end { ready.append((e.emit, out.bytes[e.start..<e.end])) } else { keep.append((e.emit, Array(out.bytes[e.start..<e.end]))) }
        }
        ready.sort { $0.emit < $1.emit }
        for r in ready { r.bytes.withUnsafeBytes(write) }
        pending = keep
    }

    /// Writes what arrives after the last period, in arrival order.
    mutating func finish(write: (UnsafeRawBufferPointer) -> Void) {
        pending.sort { $0.emit < $1.emit }
        for e in pending { e.bytes.withUnsafeBytes(write) }
    }
}
