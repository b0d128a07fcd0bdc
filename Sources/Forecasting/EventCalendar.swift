import Windows

/// Named holiday/retail events by day, as the network sees them: one feature pair per event name,
/// so that each event gets its own learned effect (Black Friday lifts demand, Christmas Day drops
/// it; a single "holiday" flag would average them away).
///
/// For a target period and event e the pair is: whether the period holds one of e's days, and
/// whether one falls in the 7 days after the period (demand before an event rises as people shop
/// ahead). Names are sorted, so the same calendar always gives the same feature order.
public struct EventCalendar: Sendable, Equatable {
    public let names: [String]
    /// Day (since 1970) → indices into `names` of the events on that day.
    let byDay: [Int: [Int]]

    public init(_ events: [(name: String, day: Int)]) {
        names = Array(Set(events.map(\.name))).sorted()
        let index = Dictionary(uniqueKeysWithValues: names.enumerated().map { ($1, $0) })
        var byDay: [Int: [Int]] = [:]
        for e in events where !(byDay[e.day]?.contains(index[e.name]!) ?? false) { byDay[e.day, default: []].append(index[e.name]!) }
        self.byDay = byDay
    }

    /// Features per target period: two per event.
    public var featureCount: Int { 2 * names.count }

    /// Every event day (the network's single holiday flag).
    public var days: Set<Int> { Set(byDay.keys) }

    /// The features of `period`'s p-th period: [in period (per event), in the 7 days after (per event)].
    func features(_ period: Period, _ p: Int64) -> [Float] {
        var out = [Float](repeating: 0, count: featureCount)
        guard !byDay.isEmpty else { return out }
        let first = Int(period.start(of: p) / 86_400_000), last = Int((period.end(of: p) - 1) / 86_400_000)
        for d in first...(last + 7) {
            for e in byDay[d] ?? [] { out[d <= last ? e : names.count + e] = 1 }
        }
        return out
    }

    /// The events whose features are set for at least one period in `from...through`. An event
    /// that never occurs in the training range has input weights that never learn anything (they
    /// keep their random initial values); serving them would add noise where the event falls.
    /// Such events keep the single holiday flag, learned from every other event.
    public func occurring(_ period: Period, from: Int64, through: Int64) -> EventCalendar {
        guard from <= through else { return EventCalendar([]) }
        var seen = Set<Int>()
        for p in from...through {
            for (e, flag) in features(period, p).enumerated() where flag != 0 { seen.insert(e % names.count) }
        }
        return EventCalendar(byDay.flatMap { day, events in events.filter(seen.contains).map { (names[$0], day) } })
    }

    /// The calendar as stored in a model file: "name:day,day;name:day".
    public var encoded: String {
        var days: [Int: [Int]] = [:]
        for (day, events) in byDay { for e in events { days[e, default: []].append(day) } }
        return names.indices.map { e in names[e] + ":" + (days[e] ?? []).sorted().map(String.init).joined(separator: ",") }
            .joined(separator: ";")
    }

    public init?(encoded: String) {
        var events: [(name: String, day: Int)] = []
        for part in encoded.split(separator: ";") {
            guard let colon = part.lastIndex(of: ":") else { return nil }
            let name = String(part[..<colon])
            for d in part[part.index(after: colon)...].split(separator: ",") {
                guard let day = Int(d) else { return nil }
                events.append((name, day))
            }
        }
        self.init(events)
    }
}
