import Decisions
import Foundation
import Testing

/// The negative binomial's quantiles by brute force (the truth the tests compare with).
func nbQuantiles(mean: Double, size: Double, levels: [Double]) -> [Double] {
    let pmf = CountDistribution.negativeBinomial(mean: mean, size: size).pmf(upTo: Int(mean * 20 + 200))
    return levels.map { p in
        var cdf = 0.0
        for (k, v) in pmf.enumerated() {
            cdf += v
            if cdf >= p { return Double(k) }
        }
        return Double(pmf.count)
    }
}

@Suite struct DecisionsTests {
    @Test func countQuantileMatchesTheCumulativeSum() {
        for d in [CountDistribution.poisson(mean: 0.3), .poisson(mean: 7), .poisson(mean: 2500),
                  .negativeBinomial(mean: 4, size: 0.8), .negativeBinomial(mean: 120, size: 6)] {
            let pmf = d.pmf(upTo: 6000)
            for p in [0.05, 0.5, 0.9, 0.99, 0.998] {
                var cdf = 0.0, k = 0
                while cdf + pmf[k] < p { cdf += pmf[k]; k += 1 }
                #expect(d.quantile(p) == k, "\(d) at \(p)")
            }
        }
    }

    @Test func quantileCurveRecoversTheMomentsOfACount() {
        // Quantiles 0.1/0.5/0.9 of a negative binomial: mean and sd come back within ~15 %.
        for (mean, size) in [(3.0, 2.0), (20.0, 5.0), (200.0, 10.0)] {
            let levels = [0.1, 0.5, 0.9]
            let m = QuantileCurve(levels: levels, values: nbQuantiles(mean: mean, size: size, levels: levels)).moments
            let sd = (mean + mean * mean / size).squareRoot()
            #expect(abs(m.mean - mean) / mean < 0.15, "mean \(m.mean) vs \(mean)")
            #expect(abs(m.variance.squareRoot() - sd) / sd < 0.2, "sd \(m.variance.squareRoot()) vs \(sd)")
        }
    }

    @Test func orderUpToFromTheForecastIsCloseToTheExactSumAndBelowTheSumOfQuantiles() {
        // Three independent periods of known negative binomials: the forecast gives each one's
        // quantiles; the level at 0.95 of their sum is compared with the exact convolution.
        let levels = [0.1, 0.5, 0.9]
        let periods = [(8.0, 3.0), (12.0, 3.0), (5.0, 3.0)]
        let curves = periods.map { QuantileCurve(levels: levels, values: nbQuantiles(mean: $0.0, size: $0.1, levels: levels)) }
        let exact = CountSum.quantile(of: periods.map { CountDistribution.negativeBinomial(mean: $0.0, size: $0.1).pmf(upTo: 400) }, 0.95)
        let fitted = LeadTimeDemand(periods: curves).quantile(0.95)
        #expect(abs(fitted - exact) <= max(2, exact / 10), "fitted \(fitted) exact \(exact)")
        let sumOfQuantiles = periods.map { nbQuantiles(mean: $0.0, size: $0.1, levels: [0.95])[0] }.reduce(0, +)
        #expect(Double(exact) < sumOfQuantiles)
        // Correlated periods need more stock.
        #expect(LeadTimeDemand(periods: curves, correlation: 0.5).quantile(0.95) > fitted)
    }

    @Test func policyKeysAreCheckedAndTheMostSpecificScopeWins() throws {
        var book = PolicyBook()
        try book.set("lead_time", "2")
        try book.set("lead_time", "5", category: "shoes")
        try book.set("unit_cost", "3", category: "shoes")
        try book.set("unit_cost", "4", product: "P1")
        let p1 = book.policy(product: "P1", category: "shoes")
        #expect(p1.leadTime == 5 && p1.unitCost == 4)
        #expect(book.policy(product: "P2", category: "shoes").unitCost == 3)
        #expect(book.policy(product: "P3", category: nil).leadTime == 2)
        #expect(book.longestCoverage == 6)
        #expect(throws: PolicyError.self) { try book.set("lead_tme", "2") }
        do { try book.set("shortage", "lost", category: "x") } catch {
            #expect(error.key == "shortage" && error.message.contains("lost_sales or backorders"))
        }
        #expect(book.policy(product: "P4", category: "x").shortage == .lostSales)
    }

    @Test func criticalRatioBalancesMarginAgainstHolding() throws {
        var policy = InventoryPolicy()
        try policy.set("unit_cost", "6")
        try policy.set("holding_cost", "1")
        let costs = try #require(policy.costs(productPrice: 10, periodsPerYear: 52))
        #expect(costs.shortage == 4 && costs.criticalRatio == 0.8)
        #expect(InventoryPolicy().costs(productPrice: nil, periodsPerYear: 52) == nil)
        let byShare = try #require(InventoryPolicy().costs(productPrice: 10, periodsPerYear: 365))
        #expect(abs(byShare.unitCost - 7) < 1e-12 && abs(byShare.holding - 0.25 * 7 / 365) < 1e-12)
    }

    @Test func playingOrdersChargesHoldingAndShortages() throws {
        var policy = InventoryPolicy()
        try policy.set("lead_time", "1")
        let costs = InventoryPolicy.Costs(price: 10, unitCost: 6, holding: 0.5, shortage: 4)
        let demand: [Int64: Double] = [1: 3, 2: 6, 3: 2, 4: 1]
        // Reviews after periods 0, 1, 2 with S = 8: start with 8 on hand.
        // p1: 8−3 = 5 left (order at 1: 8 − 5 = 3, arrives at 3); p2: 5 of 6 served, 1 lost, 0 left
        // (order at 2: 8 − 0 − 3 = 5, arrives at 4); p3: +3, 2 served, 1 left.
        let lost = InventorySimulation.play(reviews: [0, 1, 2], orderUpTo: [8, 8, 8], policy: policy, costs: costs) { demand[$0] ?? 0 }
        #expect(lost.periods == 3 && lost.demand == 11 && lost.served == 10)
        #expect(lost.shortageCost == 4 && lost.holdingCost == 0.5 * (5 + 0 + 1))
        #expect(lost.periodsWithoutShortage == 2)
        try policy.set("shortage", "backorders")
        // Backorders: p2 ends at −1 (1 waiting); at 2 the position is −1 + 3: order 6; p3: −1 + 3 − 2 = 0.
        let back = InventorySimulation.play(reviews: [0, 1, 2], orderUpTo: [8, 8, 8], policy: policy, costs: costs) { demand[$0] ?? 0 }
        #expect(back.shortageCost == 4 * 1 && back.holdingCost == 0.5 * 5 && back.served == 10)
    }

    @Test func recommendationMessageIsTheDocumentedJSON() throws {
        var book = PolicyBook()
        try book.set("lead_time", "2")
        try book.set("review_period", "1")
        let r = try #require(Recommender(book: book, periodsPerYear: 365).recommend(
            product: "P\"1", category: nil, productPrice: 10, period: "day", fct: 0, model: "m",
            levels: [0.1, 0.5, 0.9], horizons: [[1, 3, 6], [1, 3, 6], [2, 4, 8], [0, 1, 2]], inventoryPosition: 4))
        let json = try #require(JSONSerialization.jsonObject(with: Data(r.jsonBytes)) as? [String: Any])
        #expect(json["product"] as? String == "P\"1" && json["schema"] as? Int == 1)
        let demand = try #require(json["demand"] as? [String: Any])
        #expect(demand["periods"] as? Int == 3)
        #expect(json["order_up_to"] as? Int == r.orderUpTo && json["order"] as? Int == r.orderUpTo - 4)
        #expect(r.orderUpTo > 10)  // three periods of about 3–4 each, at a high critical ratio
        // Not enough horizons for the cover: no recommendation.
        #expect(Recommender(book: book, periodsPerYear: 365).recommend(product: "P", category: nil, productPrice: 10, period: "day", fct: 0,
                                                                         model: "m", levels: [0.5], horizons: [[1], [1]]) == nil)
    }

    /// Numbers in a recommendation read as C's %.6g whichever way they are printed: prices with
    /// a short decimal form, computed means and spreads, tiny and huge values, negatives.
    @Test func numbersAreSixSignificantDigits() {
        var rng = SystemRandomNumberGenerator()
        var values: [Double] = [29.01, 0.1, 0.3, 1e-3, 9.99999e-4, 123456.5, 999999.5, 1e6 + 0.5, -4.25, 1.0 / 3, 2.0 / 3, 0.0001234, 1e-7]
        for _ in 0..<20_000 {
            let magnitude = Double.random(in: -6...9, using: &rng)
            let v = pow(10, magnitude) * (Bool.random(using: &rng) ? 1 : -1)
            values.append(v)
            values.append((v * 100).rounded() / 100)
            // Seven significant digits, the last often a 5: right at or next to a rounding tie.
            values.append(Double(Int.random(in: 1_000_000...9_999_999, using: &rng)) * pow(10, Double(Int.random(in: -12...2, using: &rng))))
        }
        for v in values where v != v.rounded() {  // whole numbers print as integers
            #expect(Recommendation.number(v) == String(format: "%.6g", v), "\(v)")
        }
    }
}
