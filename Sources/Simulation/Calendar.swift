import Events

/// A holiday or retail event: demand is multiplied by `effect` on its day, with a smaller lift on
/// the days before (shopping ahead). Loaded from Config/calendar.toml by the CLI.
public struct CalendarEvent: Sendable, Equatable {
    public var name: String
    /// Days since 1970-01-01 (UTC).
    public var day: Int
    public var effect: Double
    public var leadDays: Int

    public init(name: String, day: Int, effect: Double, leadDays: Int = 2) {
        self.name = name
        self.day = day
        self.effect = effect
        self.leadDays = leadDays
    }
}

/// Demand multipliers by day, from a calendar.
struct HolidayEffects {
    private var byDay: [Int: Double] = [:]

    init(_ events: [CalendarEvent]) {
        for e in events {
            byDay[e.day, default: 1] *= e.effect
            guard e.leadDays > 0 else { continue }
            for d in 1...e.leadDays {
                byDay[e.day - d, default: 1] *= 1 + (e.effect - 1) * 0.3 / Double(d)
            }
        }
    }

    /// Mean multiplier over the days [first, last].
    func multiplier(days first: Int, _ last: Int) -> Double {
        if byDay.isEmpty { return 1 }
        var total = 0.0
        for d in first...last { total += byDay[d] ?? 1 }
        return total / Double(last - first + 1)
    }
}
