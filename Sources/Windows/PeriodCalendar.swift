import Events

/// Forecast periods in UTC: hours, days, weeks starting Monday 00:00, months starting on the 1st.
/// A period is identified by its index (periods since the epoch's period).
public enum Period: String, Sendable, CaseIterable, Codable {
    case hour, day, week, month

    static let hourMs: Int64 = 3_600_000
    static let dayMs: Int64 = 86_400_000
    /// 1970-01-01 was a Thursday; Monday 1969-12-29 is 3 days earlier.
    static let mondayOffsetMs: Int64 = 3 * dayMs

    /// Index of the period containing `time` (epoch ms).
    public func index(of time: Int64) -> Int64 {
        switch self {
        case .hour: return floorDiv(time, Self.hourMs)
        case .day: return floorDiv(time, Self.dayMs)
        case .week: return floorDiv(time + Self.mondayOffsetMs, 7 * Self.dayMs)
        case .month:
            let (y, m, _) = Timestamp.civilFromDays(Int(floorDiv(time, Self.dayMs)))
            return Int64(y - 1970) * 12 + Int64(m - 1)
        }
    }

    /// Start (epoch ms) of period `index`.
    public func start(of index: Int64) -> Int64 {
        switch self {
        case .hour: return index * Self.hourMs
        case .day: return index * Self.dayMs
        case .week: return index * 7 * Self.dayMs - Self.mondayOffsetMs
        case .month:
            let y = 1970 + Int(floorDiv(index, 12))
            let m = Int(index - floorDiv(index, 12) * 12) + 1
            return Int64(Timestamp.daysFromCivil(y, m, 1)) * Self.dayMs
        }
    }

    public func end(of index: Int64) -> Int64 { start(of: index + 1) }

    /// The seasonal cycle in periods used by seasonal baselines.
    public var season: Int {
        switch self {
        case .hour: 24
        case .day: 7
        case .week: 52
        case .month: 12
        }
    }

    /// Nominal length in ms (for configuration defaults only; months vary).
    public var nominalMs: Int64 {
        switch self {
        case .hour: Self.hourMs
        case .day: Self.dayMs
        case .week: 7 * Self.dayMs
        case .month: 30 * Self.dayMs
        }
    }
}

@inline(__always) func floorDiv(_ a: Int64, _ b: Int64) -> Int64 {
    let q = a / b
    return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q
}
