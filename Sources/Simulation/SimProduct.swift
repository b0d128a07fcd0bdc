import Events
import Foundation

/// One simulated product's hidden parameters and price plan.
struct SimProduct {
    let id: String
    let idBytes: [UInt8]
    let category: Int
    let categoryBytes: [UInt8]
    var level: Double
    var growth: Double
    let shape: Double
    var elasticity: Double
    var seasonalScale = 1.0
    /// Log-deviation of the level under `--level-wander` (0 without it).
    var wander = 0.0
    let referencePrice: Double
    var currentPrice: Double
    let launch: Int
    let retire: Int
    let viewsPerUnit: Double
    let viewLeadDays: Double
    /// Price changes in force or announced: (effective, price, promo), sorted by effective.
    var schedule: [(effective: Int64, price: Double, promo: Bool)] = []
    var busyUntil = -1

    init(index: Int, categories: Int, periods: Int, periodDays: Double, mix: ProductMix, rng: inout SplitMix64) {
        id = String(format: "P%05d", index)
        idBytes = Array(id.utf8)
        category = index % categories
        categoryBytes = Array("C\(category)".utf8)
        // Low-volume, intermittent sellers (40 % by default) and regular ones. Levels are per day.
        let perDay = rng.uniform() < mix.intermittentShare ? exp(log(0.3) + 0.5 * rng.normal()) : exp(log(4) + 0.8 * rng.normal())
        level = perDay * periodDays
        growth = pow(1 + 0.3 / 365 * rng.normal(), periodDays)
        shape = mix.shapes.lowerBound + (mix.shapes.upperBound - mix.shapes.lowerBound) * rng.uniform()
        elasticity = -(1 + 1.5 * rng.uniform())
        referencePrice = ((5 + 45 * rng.uniform()) * 100).rounded() / 100
        currentPrice = referencePrice
        launch = rng.uniform() < 0.2 ? Int(rng.uniform() * Double(periods / 2)) : 0
        retire = rng.uniform() < 0.1 ? periods / 2 + Int(rng.uniform() * Double(periods / 2)) : Int.max
        viewsPerUnit = 3 + 7 * rng.uniform()
        viewLeadDays = Double(1 + Int(rng.uniform() * 3))
        schedule = [(Int64.min, referencePrice, false)]
    }

    func isActive(_ t: Int) -> Bool { t >= launch && t < retire }

    func price(at time: Int64) -> (value: Double, promo: Bool) {
        var current = schedule[0]
        for s in schedule where s.effective <= time { current = s }
        return (current.price, current.promo)
    }

    /// Plans promotions (a few days, 15–30 % off, announced 3–7 days ahead) and permanent price
    /// changes (±10 %, announced a week ahead); returns the price events to publish now. A kind
    /// in `without` is drawn as usual and then dropped (the product's plans stay the same).
    mutating func plan(t: Int, start: Int64, length: Int64, rng: inout SplitMix64,
                       without: Set<DemandStructure> = []) -> [(effective: Int64, price: Double, promo: Bool)] {
        guard t > busyUntil, t > launch else { return [] }
        let day: Int64 = 86_400_000
        let perPeriod = Double(length) / Double(day)
        var out: [(effective: Int64, price: Double, promo: Bool)] = []
        var kind = DemandStructure.promotions
        if rng.uniform() < 0.02 * perPeriod {
            let from = start + Int64(3 + Int(rng.uniform() * 5)) * day
            let to = from + Int64(3 + Int(rng.uniform() * 8)) * day
            let promo = ((currentPrice * (0.7 + 0.15 * rng.uniform())) * 100).rounded() / 100
            out = [(from, promo, true), (to, currentPrice, false)]
        } else if rng.uniform() < 0.005 * perPeriod {
            kind = .priceChanges
            out = [(start + 7 * day, ((currentPrice * (0.9 + 0.2 * rng.uniform())) * 100).rounded() / 100, false)]
        }
        guard let last = out.last else { return [] }
        // The product is busy for the plan's span either way, so later draws stay the same.
        busyUntil = t + Int((Double(last.effective - start) / Double(length)).rounded(.up))
        if without.contains(kind) { return [] }
        if kind == .priceChanges { currentPrice = last.price }
        schedule.append(contentsOf: out)
        schedule.sort { $0.effective < $1.effective }
        return out
    }

    mutating func apply(_ drift: DriftSpec) {
        switch drift.kind {
        case .level: level *= drift.factor
        case .elasticity: elasticity *= drift.factor
        case .seasonality: seasonalScale *= drift.factor
        }
    }
}
