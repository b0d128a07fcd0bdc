import Foundation

/// One period's demand distribution as the forecast gives it: a few quantiles. Read as a quantile
/// function Q(u) that is linear between the forecast's quantiles, linear from the lowest one down
/// to u = 0 (not below 0), and above the highest one an exponential tail
/// Q(u) = v_n + θ·ln((1 − τ_n)/(1 − u)) whose scale θ continues the spacing of the top two
/// quantiles (the tail of a geometric / negative-binomial count). Its mean and variance are
/// integrals of Q and Q², in closed form per piece.
public struct QuantileCurve: Sendable, Equatable {
    public var levels: [Double]
    public var values: [Double]

    public init(levels: [Double], values: [Double]) {
        precondition(levels.count == values.count && !levels.isEmpty)
        self.levels = levels
        // Quantiles below 0 mean nothing for demand; keep them ordered.
        var v = values.map { max($0, 0) }
        for i in v.indices.dropFirst() { v[i] = max(v[i], v[i - 1]) }
        self.values = v
    }

    /// Mean and variance of the distribution the quantiles describe.
    public var moments: (mean: Double, variance: Double) {
        let n = levels.count
        guard n >= 2 else { return (values[0], values[0]) }  // one quantile: read it as a Poisson mean
        var m1 = 0.0, m2 = 0.0
        func segment(_ a: Double, _ x0: Double, _ b: Double, _ x1: Double) {
            m1 += (b - a) * (x0 + x1) / 2
            m2 += (b - a) * (x0 * x0 + x0 * x1 + x1 * x1) / 3
        }
        let slope = (values[1] - values[0]) / (levels[1] - levels[0])
        segment(0, max(values[0] - slope * levels[0], 0), levels[0], values[0])
        for i in 1..<n { segment(levels[i - 1], values[i - 1], levels[i], values[i]) }
        let w = 1 - levels[n - 1], v = values[n - 1]
        let theta = (values[n - 1] - values[n - 2]) / log((1 - levels[n - 2]) / w)
        m1 += w * (v + theta)
        m2 += w * (v * v + 2 * v * theta + 2 * theta * theta)
        return (m1, max(m2 - m1 * m1, 0))
    }
}

/// Demand summed over the periods one order must cover (lead time + review period), from the
/// per-horizon forecasts. Quantiles of a sum are not sums of quantiles: each period's mean and
/// variance come from its quantile curve, the sum's are Σ means and Σ variances plus the
/// covariances a correlation ρ between periods adds (2ρ·Σ_{i<j} σ_i σ_j; ρ = 0: periods
/// independent given the forecast), and the sum is read as the negative binomial with that mean
/// and variance (Poisson when the variance does not exceed the mean) — the standard lead-time
/// demand model for counts.
public struct LeadTimeDemand: Sendable, Equatable {
    public var mean: Double
    public var variance: Double

    public init(mean: Double, variance: Double) {
        self.mean = mean
        self.variance = variance
    }

    public init(periods: [QuantileCurve], correlation: Double = 0) {
        let m = periods.map(\.moments)
        let sd = m.map { $0.variance.squareRoot() }
        var cross = 0.0
        var before = 0.0
        for s in sd {
            cross += before * s
            before += s
        }
        self.init(mean: m.reduce(0) { $0 + $1.mean }, variance: m.reduce(0) { $0 + $1.variance } + 2 * correlation * cross)
    }

    public var distribution: CountDistribution {
        variance > mean * (1 + 1e-9) ? .negativeBinomial(mean: mean, size: mean * mean / (variance - mean)) : .poisson(mean: mean)
    }

    /// The smallest stock level that covers demand with probability at least `p`.
    public func quantile(_ p: Double) -> Int { distribution.quantile(p) }
}

/// A distribution over 0, 1, 2, … units.
public enum CountDistribution: Sendable, Equatable {
    case poisson(mean: Double)
    /// Mean μ and size r: variance μ + μ²/r.
    case negativeBinomial(mean: Double, size: Double)

    public var name: String {
        switch self {
        case .poisson: "poisson"
        case .negativeBinomial: "negative_binomial"
        }
    }

    /// log P(X = k).
    public func logPMF(_ k: Int) -> Double {
        let x = Double(k)
        switch self {
        case .poisson(let mu):
            if mu <= 0 { return k == 0 ? 0 : -.infinity }
            return x * log(mu) - mu - lgamma(x + 1)
        case .negativeBinomial(let mu, let r):
            if mu <= 0 { return k == 0 ? 0 : -.infinity }
            return lgamma(x + r) - lgamma(r) - lgamma(x + 1) + r * log(r / (r + mu)) + x * log(mu / (r + mu))
        }
    }

    /// The probabilities of 0…`limit` (the rest of the mass lies above).
    public func pmf(upTo limit: Int) -> [Double] {
        (0...max(limit, 0)).map { exp(logPMF($0)) }
    }

    /// The smallest k with P(X ≤ k) ≥ p. Sums the probabilities upward from a point far enough
    /// below the mean that the mass under it is negligible, by the ratio recursion of consecutive
    /// probabilities (one log-gamma evaluation per call).
    public func quantile(_ p: Double) -> Int {
        let (mu, variance): (Double, Double)
        switch self {
        case .poisson(let m): (mu, variance) = (m, m)
        case .negativeBinomial(let m, let r): (mu, variance) = (m, m + m * m / r)
        }
        if mu <= 0 { return 0 }
        var k = max(0, Int((mu - 12 * variance.squareRoot()).rounded(.down)))
        var prob = exp(logPMF(k))
        var cdf = prob
        while cdf < p {
            let x = Double(k)
            switch self {
            case .poisson(let m): prob *= m / (x + 1)
            case .negativeBinomial(let m, let r): prob *= (x + r) / (x + 1) * (m / (r + m))
            }
            k += 1
            cdf += prob
            if prob < 1e-300 && Double(k) > mu { break }  // p beyond what doubles resolve
        }
        return k
    }
}

/// The exact distribution of a sum of independent counts given by their probabilities (for the
/// simulator's truth, whose periods are independent negative binomials): the convolution, cut
/// where the remaining mass is below 1e-12.
public enum CountSum {
    public static func quantile(of pmfs: [[Double]], _ p: Double) -> Int {
        var total: [Double] = [1]
        for f in pmfs {
            var next = [Double](repeating: 0, count: total.count + f.count - 1)
            for (i, a) in total.enumerated() where a > 0 {
                for (j, b) in f.enumerated() { next[i + j] += a * b }
            }
            var mass = next.reduce(0, +)
            while next.count > 1, next[next.count - 1] < 1e-15, mass - next[next.count - 1] > 1 - 1e-12 {
                mass -= next.removeLast()
            }
            total = next
        }
        var cdf = 0.0
        for (k, v) in total.enumerated() {
            cdf += v
            if cdf >= p { return k }
        }
        return total.count - 1
    }
}
