/// Page-Hinkley test for a change in the mean of a stream, both directions (Page 1954; Hinkley
/// 1971; the form in Gama et al., "A survey on concept drift adaptation", 2014). With m_t the running
/// mean, U_t = Σ (x − m_t − δ) and its minimum detect an increase, D_t = Σ (x − m_t + δ) and its
/// maximum a decrease; an alarm when either walks more than λ from its extreme. δ is the change
/// the test ignores, λ trades delay for false alarms. O(1) state.
public struct PageHinkley: Sendable, Codable, Equatable {
    public var delta: Double
    public var lambda: Double
    var count = 0.0
    var mean = 0.0
    var up = 0.0, upMin = 0.0
    var down = 0.0, downMax = 0.0

    public init(delta: Double, lambda: Double) {
        self.delta = delta
        self.lambda = lambda
    }

    public enum Change: String, Sendable { case increase, decrease }

    /// Adds one observation; returns the change detected (and restarts), or nil.
    public mutating func update(_ x: Double) -> Change? {
        count += 1
        mean += (x - mean) / count
        up += x - mean - delta
        upMin = min(upMin, up)
        down += x - mean + delta
        downMax = max(downMax, down)
        let change: Change? = up - upMin > lambda ? .increase : downMax - down > lambda ? .decrease : nil
        if change != nil { self = PageHinkley(delta: delta, lambda: lambda) }
        return change
    }
}

/// Coverage of a quantile forecast of counts.
///
/// With discrete demand an actual often equals the quantile (no sale against a P10 of 0): the
/// true distribution's τ-quantile q has P(y < q) ≤ τ ≤ P(y ≤ q), so neither "share at or below"
/// nor "share strictly below" is τ for a perfect forecast (the oracle's P10 "covers" 48 % of a
/// sparse daily log by y ≤ q). A quantile level is calibrated exactly when τ lies between the two
/// shares, and its coverage is read so: ties count by the share the level implies — as many of
/// them as bring the coverage to τ, at most all, at least none. For continuous values (no ties)
/// this is the share y ≤ q.
public enum CountCoverage {
    /// `below`: share of actuals strictly below the quantile; `atOrBelow`: at or below it.
    public static func coverage(below: Double, atOrBelow: Double, level: Double) -> Double {
        min(max(level, below), atOrBelow)
    }
}

/// Is a realised coverage consistent with its nominal level? A two-sided binomial z-test, plus a
/// practical margin so that a huge fleet does not alarm on a 0.3-point miss. Coverage is read as
/// `CountCoverage` says, so a calibrated forecast of counts passes.
public struct CoverageTest: Sendable {
    public var z: Double
    public var margin: Double
    public init(z: Double = 4, margin: Double = 0.05) {
        self.z = z
        self.margin = margin
    }

    public func isOff(coverage: Double, cells: Double, nominal q: Double) -> Bool {
        guard cells > 0 else { return false }
        let sd = (q * (1 - q) / cells).squareRoot()
        return abs(coverage - q) > margin && abs(coverage - q) > z * sd
    }
}
