import Events
import Foundation
import Testing
@testable import Simulation
import Windows

@Suite struct SamplerTests {
    /// Draws match the negative binomial they claim: mean, variance and the coverage of its
    /// quantiles, across the inversion (small) and PTRS (large) Poisson paths.
    @Test(arguments: [(0.3, 0.7), (4.0, 2.0), (25.0, 5.0), (300.0, 3.0)])
    func negativeBinomialDrawsMatchTheDistribution(_ mean: Double, _ shape: Double) {
        var rng = SplitMix64(seed: 99)
        let n = 40_000
        let draws = (0..<n).map { _ in Double(rng.negativeBinomial(mean: mean, shape: shape)) }
        let m = draws.reduce(0, +) / Double(n)
        let v = draws.map { ($0 - m) * ($0 - m) }.reduce(0, +) / Double(n - 1)
        let variance = mean + mean * mean / shape
        #expect(abs(m - mean) < 5 * (variance / Double(n)).squareRoot())
        #expect(abs(v / variance - 1) < 0.1)
        let dist = NegativeBinomial(mean: mean, shape: shape)
        let levels = [0.1, 0.5, 0.9]
        for (q, k) in zip(levels, dist.quantiles(levels)) {
            // Discrete: P(Y ≤ k) ≥ q > P(Y ≤ k−1); the empirical shares must match those exactly.
            let upper = dist.cdf(k), lower = dist.cdf(k - 1)
            #expect(upper >= q && lower < q)
            let shareAtMost = Double(draws.filter { $0 <= Double(k) }.count) / Double(n)
            let shareBelow = Double(draws.filter { $0 < Double(k) }.count) / Double(n)
            #expect(abs(shareAtMost - upper) < 4 * (upper * (1 - upper) / Double(n)).squareRoot() + 1e-9)
            #expect(abs(shareBelow - lower) < 4 * (lower * (1 - lower) / Double(n)).squareRoot() + 1e-9)
        }
    }
}

@Suite struct SimulatorTests {
    struct Output {
        var log = Data()
        var truth: [TruthRow] = []
        var drifts: [DriftRecord] = []
        var events = 0
    }

    func simulate(seed: UInt64, products: Int = 300, periods: Int = 150, drifts: [DriftSpec] = [],
                  wander: LevelWander? = nil, mix: ProductMix = ProductMix(), without: Set<DemandStructure> = []) -> Output {
        var c = SimulationConfig()
        c.without = without
        c.levelWander = wander
        c.mix = mix
        c.products = products
        c.periods = periods
        c.seed = seed
        c.drifts = drifts
        c.calendar = [CalendarEvent(name: "sale", day: Int(Timestamp.parse("2024-03-15T00:00:00Z")! / 86_400_000), effect: 2)]
        var out = Output()
        out.events = Simulator.generate(c, write: { out.log.append(contentsOf: $0); out.log.append(0x0A) },
                                        truth: { out.truth.append($0) }, drift: { out.drifts.append($0) })
        return out
    }

    @Test func sameSeedSameBytesOtherSeedOtherLog() {
        let a = simulate(seed: 7, products: 50, periods: 40), b = simulate(seed: 7, products: 50, periods: 40)
        let c = simulate(seed: 8, products: 50, periods: 40)
        #expect(a.log == b.log && a.events > 10_000)
        #expect(a.log != c.log)
    }

    /// Over every product-period of a log, the drawn demand covers each true quantile as often as
    /// the distribution says (within sampling error); and the log's sales add up to the draws.
    @Test func drawsCoverTheTrueQuantilesAndTheLogHoldsThem() throws {
        let out = simulate(seed: 3)
        let rows = out.truth
        #expect(rows.count > 30_000)
        for (j, q) in [0.1, 0.5, 0.9].enumerated() {
            var expected = 0.0, variance = 0.0, hits = 0
            for r in rows {
                let p = NegativeBinomial(mean: r.mean, shape: r.shape).cdf(r.quantiles[j])
                #expect(p >= q - 1e-12)
                expected += p
                variance += p * (1 - p)
                if r.units <= r.quantiles[j] { hits += 1 }
            }
            #expect(abs(Double(hits) - expected) < 4 * variance.squareRoot(), "q\(q): \(hits) vs \(expected)")
        }
        // Sales in the log, by product and day, equal the truth's draws; every line decodes.
        var units: [String: Double] = [:]
        let decoder = EventDecoder()
        var lines = 0, late = 0, previous: Int64 = 0
        for line in out.log.split(separator: 0x0A) {
            lines += 1
            let e = try line.withUnsafeBytes { try decoder.decode($0).get() }
            if e.time < previous - 86_400_000 / 2 { late += 1 }
            previous = max(previous, e.time)
            if e.kind == .sale { units["\(e.product)|\(Period.day.index(of: e.time))", default: 0] += e.quantity }
        }
        #expect(lines == out.events)
        for r in rows where r.units > 0 {
            #expect(units["\(r.product)|\(Period.day.index(of: r.periodStart))"] == Double(r.units))
        }
        #expect(late > 0 && late < lines / 200)  // a few late ones, mildly out of order otherwise
    }

    @Test func retailStructureIsThere() throws {
        let out = simulate(seed: 5)
        let rows = out.truth
        // Cold starts and retirements: products whose first/last truth row is not the log's.
        let firstDay = rows.map(\.periodStart).min()!, lastDay = rows.map(\.periodStart).max()!
        let byProduct = Dictionary(grouping: rows, by: \.product)
        #expect(byProduct.values.filter { $0.map(\.periodStart).min()! > firstDay }.count > 20)
        #expect(byProduct.values.filter { $0.map(\.periodStart).max()! < lastDay }.count > 10)
        // Intermittent, low-volume products: many product-periods with a zero median.
        #expect(Double(rows.filter { $0.quantiles[1] == 0 }.count) / Double(rows.count) > 0.3)
        // Planned price changes are announced ahead: price events with a future effective time.
        let text = String(decoding: out.log, as: UTF8.self)
        #expect(text.components(separatedBy: "\"effective\"").count > 100)
        #expect(text.contains("\"promo\":true"))
        // The calendar's event day lifts demand (mean multiplier 2 on 2024-03-15).
        let day = Timestamp.parse("2024-03-15T00:00:00Z")!
        let onDay = rows.filter { $0.periodStart == day }.map(\.mean).reduce(0, +)
        let weekBefore = rows.filter { $0.periodStart == day - 7 * 86_400_000 }.map(\.mean).reduce(0, +)
        #expect(onDay / weekBefore > 1.6)
    }

    /// A part of the structure left out goes from the log and the truth, and only it: the same
    /// products with the same parameters, the event day's lift only where holidays stay.
    @Test func partsOfTheStructureCanBeLeftOut() throws {
        let full = simulate(seed: 5, products: 100, periods: 80)
        let text = { (o: Output) in String(decoding: o.log, as: UTF8.self) }
        let noPromotions = simulate(seed: 5, products: 100, periods: 80, without: [.promotions, .views])
        #expect(text(full).contains("\"promo\":true") && !text(noPromotions).contains("\"promo\":true"))
        #expect(text(full).contains("page_view") && !text(noPromotions).contains("page_view"))
        #expect(text(noPromotions).components(separatedBy: "\"effective\"").count > 5, "permanent price changes stay")
        let params = { (o: Output) in o.truth.map { "\($0.product) \($0.periodStart) \($0.shape) \($0.elasticity)" } }
        #expect(params(noPromotions) == params(full))
        // Without holidays the event day is an ordinary day.
        let day = Timestamp.parse("2024-03-15T00:00:00Z")!
        func lift(_ o: Output) -> Double {
            o.truth.filter { $0.periodStart == day }.map(\.mean).reduce(0, +) / o.truth.filter { $0.periodStart == day - 7 * 86_400_000 }.map(\.mean).reduce(0, +)
        }
        #expect(lift(full) > 1.6 && lift(simulate(seed: 5, products: 100, periods: 80, without: [.holidays])) < 1.3)
        // Without growth, weekly or yearly pattern and category factor, a product's mean is flat
        // between price changes: its spread over the log comes from prices alone.
        let flat = simulate(seed: 5, products: 100, periods: 80, without: [.growth, .weekly, .yearly, .category, .holidays, .promotions, .priceChanges])
        let means = Dictionary(grouping: flat.truth, by: \.product).values.map { rows in Set(rows.map { ($0.mean * 1e6).rounded() }).count }
        #expect(means.allSatisfy { $0 == 1 })
    }

    @Test func pageViewsLeadDemand() throws {
        let out = simulate(seed: 9, products: 200, periods: 120)
        // Per day: total views and total expected demand; views correlate best with demand 1–3 days later.
        var views = [Double](repeating: 0, count: 130), demand = [Double](repeating: 0, count: 130)
        let start = Period.day.index(of: Timestamp.parse("2024-01-01T00:00:00Z")!)
        let decoder = EventDecoder()
        for line in out.log.split(separator: 0x0A) {
            let e = try line.withUnsafeBytes { try decoder.decode($0).get() }
            if e.kind == .pageView { views[Int(Period.day.index(of: e.time) - start)] += e.quantity }
        }
        for r in out.truth { demand[Int(Period.day.index(of: r.periodStart) - start)] += r.mean }
        func correlation(lag: Int) -> Double {
            let xs = (10..<100).map { views[$0] }, ys = (10..<100).map { demand[$0 + lag] }
            let mx = xs.reduce(0, +) / Double(xs.count), my = ys.reduce(0, +) / Double(ys.count)
            let cov = zip(xs, ys).map { ($0 - mx) * ($1 - my) }.reduce(0, +)
            return cov / (xs.map { ($0 - mx) * ($0 - mx) }.reduce(0, +) * ys.map { ($0 - my) * ($0 - my) }.reduce(0, +)).squareRoot()
        }
        let lagged = (1...3).map(correlation).max()!
        #expect(lagged > correlation(lag: -2))
    }

    @Test func levelDriftHitsTheChosenShareAtTheChosenPeriod() {
        let spec = DriftSpec(kind: .level, share: 0.25, period: 80, factor: 2)
        let out = simulate(seed: 11, drifts: [spec])
        let hit = Set(out.drifts.map(\.product))
        #expect(Double(hit.count) / 300 > 0.15 && Double(hit.count) / 300 < 0.35)
        let shiftDay = out.drifts[0].periodStart
        func ratio(_ products: Set<String>) -> Double {
            let rows = out.truth.filter { products.contains($0.product) }
            let before = rows.filter { $0.periodStart < shiftDay && $0.periodStart >= shiftDay - 14 * 86_400_000 }.map(\.mean).reduce(0, +)
            let after = rows.filter { $0.periodStart >= shiftDay && $0.periodStart < shiftDay + 14 * 86_400_000 }.map(\.mean).reduce(0, +)
            return after / before
        }
        let others = Set(out.truth.map(\.product)).subtracting(hit)
        #expect(ratio(hit) / ratio(others) > 1.7 && ratio(hit) / ratio(others) < 2.3)
        #expect(DriftSpec("level:0.25@80x2.0") == spec && DriftSpec("bogus") == nil)
    }

    /// `--level-wander`: each product's log level follows its own AR(1) — stationary from the
    /// first period (same spread, mean of the multiplier 1) and persistent — and nothing else
    /// about the log changes (the wander draws from its own stream).
    @Test func levelWanderIsAPersistentStationaryProductLevel() {
        let wander = LevelWander(persistence: 0.95, sd: 0.3)
        let a = simulate(seed: 13, wander: wander), b = simulate(seed: 13)
        let v = wander.stationarySD * wander.stationarySD
        // First period: the same products, parameters and prices; only the wander differs.
        let first = a.truth.map(\.periodStart).min()!
        let meanB = Dictionary(uniqueKeysWithValues: b.truth.filter { $0.periodStart == first }.map { ($0.product, $0.mean) })
        let logRatios = a.truth.filter { $0.periodStart == first }.map { log($0.mean / meanB[$0.product]!) }
        let n = Double(logRatios.count), m = logRatios.reduce(0, +) / n
        let sd = (logRatios.map { ($0 - m) * ($0 - m) }.reduce(0, +) / (n - 1)).squareRoot()
        #expect(n > 200 && abs(m + v / 2) < 4 * wander.stationarySD / n.squareRoot(), "mean log multiplier \(m)")
        #expect(abs(sd / wander.stationarySD - 1) < 0.2, "sd \(sd)")
        // Over time: log μ less its category's mean at t (season, holidays, category factor) and
        // less the product's own mean is the wander (+ prices): persistent and of its size.
        func residuals(_ out: Output) -> [[Double]] {
            let periods = Set(out.truth.map(\.periodStart)).count
            let byProduct = Dictionary(grouping: out.truth, by: \.product).filter { $0.value.count == periods && $0.value.allSatisfy { $0.mean > 0 } }
            let keys = byProduct.keys.sorted()
            let series = keys.map { byProduct[$0]!.sorted { $0.periodStart < $1.periodStart }.map { log($0.mean) } }
            let category = keys.map { Int($0.dropFirst())! % 8 }
            var out: [[Double]] = series
            for t in 0..<periods {
                for c in 0..<8 {
                    let members = series.indices.filter { category[$0] == c }
                    let mean = members.map { series[$0][t] }.reduce(0, +) / Double(members.count)
                    for i in members { out[i][t] -= mean }
                }
            }
            return out.map { r in let m = r.reduce(0, +) / Double(r.count); return r.map { $0 - m } }
        }
        func variance(_ r: [[Double]]) -> Double { r.flatMap { $0 }.map { $0 * $0 }.reduce(0, +) / Double(r.flatMap { $0 }.count) }
        func lag1(_ r: [[Double]]) -> Double {
            r.map { s in zip(s, s.dropFirst()).map { $0 * $1 }.reduce(0, +) }.reduce(0, +) / (variance(r) * Double(r.map { $0.count - 1 }.reduce(0, +)))
        }
        let withWander = residuals(a), without = residuals(b)
        #expect(lag1(withWander) > 0.8, "lag-1 \(lag1(withWander))")
        // 150 periods at φ = 0.95: removing each product's own mean takes ~(1+φ)/(1−φ)/150 ≈ 26 % of the variance.
        #expect(variance(withWander) > 0.5 * v && variance(withWander) < 1.2 * v, "variance \(variance(withWander)) vs \(v)")
        #expect(variance(without) < 0.1 * v, "without: \(variance(without))")
        #expect(LevelWander("0.9:0.1") == LevelWander(persistence: 0.9, sd: 0.1))
        #expect(LevelWander("1:0.1") == nil && LevelWander("0.9") == nil && LevelWander("0.9:0") == nil)
    }

    /// `ProductMix`: with no intermittent share and large shapes every product sells regularly and
    /// its demand is nearly Poisson; the shapes drawn stay in the range; the default mix is the
    /// default log.
    @Test func productMixSetsIntermittencyAndNoise() {
        var steady = ProductMix()
        steady.intermittentShare = 0
        steady.shapes = 20...60
        let a = simulate(seed: 9, products: 200, periods: 60, mix: steady), b = simulate(seed: 9, products: 200, periods: 60)
        #expect(a.truth.allSatisfy { $0.shape >= 20 && $0.shape <= 60 })
        #expect(b.truth.allSatisfy { $0.shape >= 0.5 && $0.shape <= 4.5 })
        // Intermittency: share of product-days with a zero median.
        func zeroMedians(_ o: Output) -> Double { Double(o.truth.filter { $0.quantiles[1] == 0 }.count) / Double(o.truth.count) }
        #expect(zeroMedians(b) > 0.3 && zeroMedians(a) < 0.1, "\(zeroMedians(a)) vs \(zeroMedians(b))")
        // Noise: the draws' squared deviation from the mean over the mean (Poisson: 1; NB: 1 + μ/r).
        func dispersion(_ o: Output) -> Double {
            let rows = o.truth.filter { $0.mean > 1 }
            return rows.map { (Double($0.units) - $0.mean) * (Double($0.units) - $0.mean) / $0.mean }.reduce(0, +) / Double(rows.count)
        }
        #expect(dispersion(a) < 1.5 && dispersion(b) > 2, "\(dispersion(a)) vs \(dispersion(b))")
        #expect(simulate(seed: 9, products: 200, periods: 60, mix: ProductMix()).log == b.log)
        #expect(ProductMix.shapeRange("20:60") == 20...60)
        #expect(ProductMix.shapeRange("0:3") == nil && ProductMix.shapeRange("5:2") == nil && ProductMix.shapeRange("4") == nil)
    }
}
