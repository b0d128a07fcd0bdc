import Events
import Foundation
import Windows

/// A small retail event generator with known structure (the minimal simulator of the streaming
/// spine; the richer one with true quantiles and drift is its own issue).
///
/// Per product: a log-normal level, a category with its own weekly profile, Poisson demand scaled
/// by price elasticity (−1.5) against the product's reference price, promotions announced ahead as
/// price events with a future `effective`, page views that lead demand by one period, and some
/// products launching mid-log (cold start). Sales arrive as individual events with timestamps
/// inside their period, emitted in arrival order with a small random delay (mildly out of order).
public struct SimulationConfig: Sendable {
    public var products = 100
    public var periods = 120
    public var period: Period = .day
    public var seed: UInt64 = 1
    public var start: Int64 = Timestamp.parse("2024-01-01T00:00:00Z")!
    public init() {}
}

public enum Simulator {
    /// Writes the log line by line in emission order; returns the number of events.
    @discardableResult
    public static func generate(_ c: SimulationConfig, write: (String) -> Void) -> Int {
        var rng = SplitMix64(seed: c.seed)
        let cal = c.period
        let first = cal.index(of: c.start)
        struct Product { var id: String; var category: Int; var level: Double; var refPrice: Double; var launch: Int; var promoUntil = -1 }
        var products: [Product] = (0..<c.products).map { i in
            let level = exp(rng.normal() * 0.9 + log(4.0))
            let launch = i % 5 == 4 ? Int(rng.uniform() * Double(c.periods / 2)) : 0
            return Product(id: String(format: "P%05d", i), category: i % 6, level: level,
                           refPrice: (5 + rng.uniform() * 45).rounded(toPlaces: 2), launch: launch)
        }
        let weekly: [[Double]] = (0..<6).map { _ in (0..<7).map { _ in 0.7 + 0.6 * rng.uniform() } }
        var pending: [(emit: Int64, line: String)] = []
        var count = 0
        for t in 0..<c.periods {
            let p = first + Int64(t)
            let start = cal.start(of: p), length = cal.end(of: p) - start
            for i in products.indices where t >= products[i].launch {
                var prod = products[i]
                func event(_ kind: EventKind, at ts: Int64, _ q: Double, effective: Int64? = nil, promo: Bool = false) {
                    let e = Event(kind: kind, product: prod.id, time: ts, quantity: q, effective: effective, promo: promo,
                                  category: "C\(prod.category)")
                    let delay = Int64(-log(1 - rng.uniform()) * Double(length) * 0.02)
                    pending.append((ts + delay, EventEncoder.json(e)))
                    count += 1
                }
                if t == prod.launch { event(.price, at: start, prod.refPrice) }
                // Announce a promotion 3 periods ahead, lasting 5 periods, now and then.
                if prod.promoUntil < t && rng.uniform() < 0.03 {
                    let from = cal.start(of: p + 3), to = cal.start(of: p + 8)
                    event(.price, at: start + 1000, (prod.refPrice * 0.8).rounded(toPlaces: 2), effective: from, promo: true)
                    event(.price, at: start + 2000, prod.refPrice, effective: to)
                    prod.promoUntil = t + 8
                }
                let promo = prod.promoUntil >= t && prod.promoUntil - t < 5
                let price = promo ? prod.refPrice * 0.8 : prod.refPrice
                let dow = Int((Timestamp.civilDayOfWeek(start)))
                let seasonal = cal == .day ? weekly[prod.category][dow] : 1
                let mean = prod.level * seasonal * pow(price / prod.refPrice, -1.5)
                let units = rng.poisson(mean)
                for _ in 0..<units { event(.sale, at: start + Int64(rng.uniform() * Double(length - 1)), 1) }
                // Page views lead demand: proportional to next period's expected demand.
                let views = rng.poisson(mean * 4)
                var left = views
                while left > 0 {
                    let batch = min(left, 1 + Int(rng.uniform() * 5))
                    event(.pageView, at: start + Int64(rng.uniform() * Double(length - 1)), Double(batch))
                    left -= batch
                }
                products[i] = prod
            }
            // Emit in arrival order everything that has arrived by the end of this period.
            pending.sort { $0.emit < $1.emit }
            let cut = pending.firstIndex { $0.emit >= start + length } ?? pending.count
            for e in pending[..<cut] { write(e.line) }
            pending.removeFirst(cut)
        }
        for e in pending { write(e.line) }
        return count
    }
}

extension Timestamp {
    /// Day of week of a time, 0 = Monday.
    static func civilDayOfWeek(_ ms: Int64) -> Int {
        let days = Int((ms >= 0 ? ms : ms - 86_399_999) / 86_400_000)
        return ((days + 3) % 7 + 7) % 7
    }
}

extension Double {
    func rounded(toPlaces n: Int) -> Double {
        let f = pow(10, Double(n))
        return (self * f).rounded() / f
    }
}

/// A small, fast, seedable generator (SplitMix64), so logs are identical for a seed on every machine.
public struct SplitMix64: Sendable {
    var state: UInt64
    public init(seed: UInt64) { state = seed }
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    /// Uniform in [0, 1).
    public mutating func uniform() -> Double { Double(next() >> 11) * 0x1.0p-53 }
    public mutating func normal() -> Double {
        let u1 = max(uniform(), 1e-300), u2 = uniform()
        return (-2 * log(u1)).squareRoot() * cos(2 * .pi * u2)
    }
    public mutating func poisson(_ mean: Double) -> Int {
        if mean <= 0 { return 0 }
        if mean > 40 { return max(0, Int((mean + mean.squareRoot() * normal()).rounded())) }
        let limit = exp(-mean)
        var k = 0
        var p = uniform()
        while p > limit { k += 1; p *= uniform() }
        return k
    }
}
