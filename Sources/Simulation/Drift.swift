/// A change injected into a share of products at one period: the ground truth for drift detection
/// and feedback experiments. Written as `KIND:SHARE@PERIODxFACTOR`, e.g. `level:0.2@90x1.8`.
public struct DriftSpec: Sendable, Equatable, CustomStringConvertible {
    public enum Kind: String, Sendable, CaseIterable {
        /// Demand level × factor.
        case level
        /// Price elasticity × factor.
        case elasticity
        /// Weekly and yearly seasonal amplitude × factor (0 = flat).
        case seasonality
    }

    public var kind: Kind
    public var share: Double
    /// Period number from the start of the log (0-based).
    public var period: Int
    public var factor: Double

    public init(kind: Kind, share: Double, period: Int, factor: Double) {
        self.kind = kind
        self.share = share
        self.period = period
        self.factor = factor
    }

    public init?(_ text: String) {
        let kindAndRest = text.split(separator: ":", maxSplits: 1)
        guard kindAndRest.count == 2, let kind = Kind(rawValue: String(kindAndRest[0])) else { return nil }
        let shareAndRest = kindAndRest[1].split(separator: "@", maxSplits: 1)
        guard shareAndRest.count == 2, let share = Double(shareAndRest[0]), share > 0, share <= 1 else { return nil }
        let periodAndFactor = shareAndRest[1].split(separator: "x", maxSplits: 1)
        guard periodAndFactor.count == 2, let period = Int(periodAndFactor[0]), period >= 0,
              let factor = Double(periodAndFactor[1]), factor >= 0 else { return nil }
        self.init(kind: kind, share: share, period: period, factor: factor)
    }

    public var description: String { "\(kind.rawValue):\(share)@\(period)x\(factor)" }
}
