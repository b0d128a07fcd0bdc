import Events
import Foundation
import Windows

/// What to simulate.
public struct SimulationConfig: Sendable {
    public var products = 100
    public var periods = 120
    public var period: Period = .day
    public var seed: UInt64 = 1
    public var start: Int64 = Timestamp.parse("2024-01-01T00:00:00Z")!
    public var calendar: [CalendarEvent] = []
    public var drifts: [DriftSpec] = []
    /// Quantile levels of the ground-truth file.
    public var truthQuantiles: [Double] = [0.1, 0.5, 0.9]
    /// Share of events delivered after their period closed (late).
    public var lateShare = 0.001
    /// Each product's level wanders when set: its log-deviation follows an AR(1),
    /// d_t = persistence · d_{t−1} + sd · ε_t, so demand's misses persist from period to period
    /// as on real data. Nil (the default): levels move only by drift, and one-step errors are white.
    public var levelWander: LevelWander?
    /// How many products sell slowly and intermittently, and how noisy demand is around its mean.
    public var mix = ProductMix()
    /// Parts of the demand structure left out (none by default): what a forecaster's gap to the
    /// oracle is made of shows when they are switched off one at a time. A part left out still
    /// makes its own random draws (its events are dropped after), so the products, their
    /// parameters and the rest of the structure stay those of the full log.
    public var without: Set<DemandStructure> = []
    public init() {}
}

/// The parts of the simulated demand structure (`SimulationConfig.without`).
public enum DemandStructure: String, CaseIterable, Sendable {
    /// Promotions (announced price cuts with their own lift).
    case promotions
    /// Permanent price changes (±10 %, announced a week ahead).
    case priceChanges = "price-changes"
    /// Page views (which lead demand by 1–3 days).
    case views
    /// The calendar's holidays and events.
    case holidays
    /// The day-of-week pattern.
    case weekly
    /// The yearly season.
    case yearly
    /// The category factor every product of a category shares (an AR(1) of log demand).
    case category
    /// Each product's trend.
    case growth
}

/// The simulated assortment's make-up (`SimulationConfig.mix`). The defaults are a retailer's
/// item level: 40 % slow, intermittent sellers and strongly over-dispersed demand. An aggregate
/// such as walmart's store × department sales is steadier: no intermittent series and large
/// shapes (little noise beyond Poisson), so a level shift shows within a period or two.
public struct ProductMix: Sendable, Equatable {
    /// Share of products that are low-volume and intermittent (~0.3 a day).
    public var intermittentShare = 0.4
    /// Range of the negative binomial shape r (variance μ + μ²/r), drawn uniformly per product:
    /// the larger, the less noise beyond Poisson.
    public var shapes: ClosedRange<Double> = 0.5...4.5
    public init() {}

    /// Parses a `MIN:MAX` shape range, both positive.
    public static func shapeRange(_ text: String) -> ClosedRange<Double>? {
        guard let (lo, hi) = numberPair(text), lo > 0, hi >= lo, hi.isFinite else { return nil }
        return lo...hi
    }
}

/// `A:B`, two numbers: how the simulator's two-part options are written.
func numberPair(_ text: String) -> (Double, Double)? {
    let parts = text.split(separator: ":")
    guard parts.count == 2, let a = Double(parts[0]), let b = Double(parts[1]) else { return nil }
    return (a, b)
}

/// A product-level AR(1) wander of log demand (`SimulationConfig.levelWander`).
public struct LevelWander: Sendable, Equatable, CustomStringConvertible {
    public var persistence: Double
    public var sd: Double

    public init(persistence: Double, sd: Double) {
        self.persistence = persistence
        self.sd = sd
    }

    /// `PERSISTENCE:SD`, persistence in [0, 1), sd in (0, 1].
    public init?(_ text: String) {
        guard let (phi, sd) = numberPair(text), phi >= 0, phi < 1, sd > 0, sd <= 1 else { return nil }
        self.init(persistence: phi, sd: sd)
    }

    /// The deviation's stationary standard deviation.
    public var stationarySD: Double { sd / (1 - persistence * persistence).squareRoot() }

    public var description: String { "\(persistence):\(sd)" }
}

/// One (product, period) of the ground truth: the demand distribution and the draw.
public struct TruthRow: Sendable {
    public var product: String
    public var periodStart: Int64
    public var mean: Double
    public var shape: Double
    public var quantiles: [Int]
    public var units: Int
    /// The product's price elasticity in this period: a planned change of the price by a factor f
    /// (no promotion) multiplies the mean by f^elasticity.
    public var elasticity: Double

    /// `product,start,mean,shape,units,q...,elasticity` (the truth file's CSV row).
    public var csv: String {
        "\(product),\(Timestamp.format(periodStart)),\(mean),\(shape),\(units)," + quantiles.map(String.init).joined(separator: ",") + ",\(elasticity)"
    }
}

/// A drift applied to one product.
public struct DriftRecord: Sendable {
    public var product: String
    public var spec: DriftSpec
    public var periodStart: Int64

    public var json: String {
        "{\"product\":\"\(product)\",\"kind\":\"\(spec.kind.rawValue)\",\"factor\":\(spec.factor),\"period\":\(spec.period),\"start\":\"\(Timestamp.format(periodStart))\"}"
    }
}

/// A retail event generator with known ground truth.
///
/// Demand of product i in period t is negative binomial with mean
///   μ = level · growth^t · weekly(day of week) · yearly(t) · (price/reference)^elasticity
///       · promo lift · holidays(t) · category factor(t) · drift [· exp(wander_i(t))],
/// and shape r_i (variance μ + μ²/r). Page views lead demand by 1–3 days. Some products launch
/// mid-log (cold start) or retire; by default 40 % are low-volume and intermittent (`ProductMix`).
/// Promotions and price changes are announced ahead as price events with a future `effective`.
/// Sales are individual events inside their period, emitted in arrival order with a small random
/// delay (mildly out of order) and a few very late ones. The truth (each period's distribution,
/// its quantiles and the draw) and the drifts applied are reported through callbacks.
public enum Simulator {
    /// Generates the log; returns the number of events written.
    @discardableResult
    public static func generate(_ c: SimulationConfig, write: (UnsafeRawBufferPointer) -> Void,
                                truth: ((TruthRow) -> Void)? = nil, drift: ((DriftRecord) -> Void)? = nil) -> Int {
        var rng = SplitMix64(seed: c.seed)
        let cal = c.period
        let first = cal.index(of: c.start)
        let periodDays = Double(cal.nominalMs) / 86_400_000
        let categories = 8
        let weekly: [[Double]] = (0..<categories).map { _ in
            let raw = (0..<7).map { _ in 0.6 + 0.8 * rng.uniform() }
            let mean = raw.reduce(0, +) / 7
            return raw.map { $0 / mean }
        }
        let yearlyAmplitude = (0..<categories).map { _ in 0.4 * rng.uniform() }
        let yearlyPhase = (0..<categories).map { _ in 2 * Double.pi * rng.uniform() }
        var categoryFactor = [Double](repeating: 0, count: categories)
        var products = (0..<c.products).map { i in SimProduct(index: i, categories: categories, periods: c.periods, periodDays: periodDays, mix: c.mix, rng: &rng) }
        if c.without.contains(.growth) { for i in products.indices { products[i].growth = 1 } }
        // The wander draws from its own stream, so a log with it differs from the same seed's log
        // without it only by the wander. Deviations start stationary; exp(d − v/2) has mean 1.
        var wanderRNG = SplitMix64(seed: c.seed ^ 0x5EED_0F_3A4D_E2)
        if let w = c.levelWander { for i in products.indices { products[i].wander = w.stationarySD * wanderRNG.normal() } }
        let wanderShift = c.levelWander.map { $0.stationarySD * $0.stationarySD / 2 } ?? 0
        // Which products each drift hits (a seeded choice).
        var drifted: [[Int]] = []
        for spec in c.drifts {
            var chosen: [Int] = []
            for i in products.indices where rng.uniform() < spec.share { chosen.append(i) }
            drifted.append(chosen)
        }
        let holidays = HolidayEffects(c.calendar)
        var out = EventLineWriter()
        var pending: [(emit: Int64, bytes: [UInt8])] = []
        var entries: [(emit: Int64, start: Int, end: Int)] = []
        var count = 0
        // Demand means one period ahead are needed for page views (they lead demand).
        func mean(_ p: inout SimProduct, _ t: Int) -> Double {
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
        for t in 0..<c.periods {
            let p = first + Int64(t)
            let start = cal.start(of: p), length = cal.end(of: p) - start
            for (d, spec) in c.drifts.enumerated() where spec.period == t {
                for i in drifted[d] {
                    products[i].apply(spec)
                    drift?(DriftRecord(product: products[i].id, spec: spec, periodStart: start))
                }
            }
            for k in 0..<categories { categoryFactor[k] = 0.95 * categoryFactor[k] + 0.03 * rng.normal() }
            if let w = c.levelWander, t > 0 {
                for i in products.indices { products[i].wander = w.persistence * products[i].wander + w.sd * wanderRNG.normal() }
            }
            entries.removeAll(keepingCapacity: true)
            out.bytes.removeAll(keepingCapacity: true)
            func emit(_ time: Int64, late: Bool = false) -> Int64 {
                if late { return time + length + length / 2 }
                return time + min(Int64(-log(1 - rng.uniform()) * Double(length) * 0.01), length / 10)
            }
            for i in products.indices where products[i].isActive(t) {
                var prod = products[i]
                let product = prod.idBytes, category = prod.categoryBytes
                // Prices: the launch price, then promotions and price changes announced ahead.
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
                    entries.append((emit(ts), s, out.bytes.count)); count += 1
                }
                let mu = mean(&prod, t)
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
                    entries.append((emit(ts, late: rng.uniform() < c.lateShare), s, out.bytes.count)); count += 1
                    left -= basket
                }
                // Page views follow demand `viewLead` days ahead (interpolated between periods).
                let ahead = prod.viewLeadDays / periodDays
                let whole = Int(ahead), frac = ahead - Double(whole)
                let muAhead = (1 - frac) * mean(&prod, t + whole) + frac * mean(&prod, t + whole + 1)
                var views = rng.poisson(prod.viewsPerUnit * muAhead)
                if c.without.contains(.views) { views = 0 }
                while views > 0 {
                    let batch = min(views, 1 + Int(rng.uniform() * 5))
                    let ts = start + Int64(rng.uniform() * Double(length))
                    let s = out.bytes.count
                    out.event(.pageView, product: product, category: category, time: ts, quantity: Double(batch))
                    entries.append((emit(ts), s, out.bytes.count)); count += 1
                    views -= batch
                }
                products[i] = prod
            }
            // Emit in arrival order everything that has arrived by the end of this period.
            let end = start + length
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
        pending.sort { $0.emit < $1.emit }
        for e in pending { e.bytes.withUnsafeBytes(write) }
        return count
    }
}

extension Timestamp {
    /// Day of week of a time, 0 = Monday.
    static func dayOfWeek(_ ms: Int64) -> Int {
        let days = Int((ms >= 0 ? ms : ms - 86_399_999) / 86_400_000)
        return ((days + 3) % 7 + 7) % 7
    }
}
