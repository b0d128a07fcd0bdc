import Foundation

/// A small, fast, seedable generator (SplitMix64), so logs are identical for a seed on every
/// machine, with the exact samplers the simulator needs.
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

    /// Gamma(shape, scale): Marsaglia & Tsang (2000), exact.
    public mutating func gamma(shape: Double, scale: Double) -> Double {
        if shape < 1 {
            return gamma(shape: shape + 1, scale: scale) * pow(max(uniform(), 1e-300), 1 / shape)
        }
        let d = shape - 1.0 / 3.0, c = 1 / (9 * d).squareRoot()
        while true {
            var x: Double, v: Double
            repeat { x = normal(); v = 1 + c * x } while v <= 0
            v = v * v * v
            let u = uniform()
            if u < 1 - 0.0331 * x * x * x * x { return d * v * scale }
            if log(max(u, 1e-300)) < 0.5 * x * x + d * (1 - v + log(v)) { return d * v * scale }
        }
    }

    /// Poisson(mean): inversion below 10, Hörmann's PTRS transformed rejection above (exact).
    public mutating func poisson(_ mean: Double) -> Int {
        if mean <= 0 { return 0 }
        if mean < 10 {
            let limit = exp(-mean)
            var k = 0
            var p = uniform()
            while p > limit { k += 1; p *= uniform() }
            return k
        }
        let slam = mean.squareRoot(), loglam = log(mean)
        let b = 0.931 + 2.53 * slam, a = -0.059 + 0.02483 * b
        let invalpha = 1.1239 + 1.1328 / (b - 3.4), vr = 0.9277 - 3.6224 / (b - 2)
        while true {
            let u = uniform() - 0.5, v = uniform()
            let us = 0.5 - abs(u)
            let k = Int(((2 * a / us + b) * u + mean + 0.43).rounded(.down))
            if us >= 0.07 && v <= vr { return k }
            if k < 0 || (us < 0.013 && v > us) { continue }
            if log(v) + log(invalpha) - log(a / (us * us) + b) <= -mean + Double(k) * loglam - lgamma(Double(k) + 1) { return k }
        }
    }

    /// Negative binomial with this mean and shape r (variance μ + μ²/r), as a Gamma–Poisson mixture.
    public mutating func negativeBinomial(mean: Double, shape: Double) -> Int {
        mean <= 0 ? 0 : poisson(gamma(shape: shape, scale: mean / shape))
    }
}

/// The negative binomial distribution of a period's demand: the simulator's ground truth.
public struct NegativeBinomial: Sendable {
    public let mean: Double
    public let shape: Double

    public init(mean: Double, shape: Double) {
        self.mean = mean
        self.shape = shape
    }

    /// P(Y ≤ k).
    public func cdf(_ k: Int) -> Double {
        guard k >= 0 else { return 0 }
        guard mean > 0 else { return 1 }
        let p = shape / (shape + mean)
        var pmf = exp(shape * log(p))
        var total = pmf
        if k == 0 { return min(total, 1) }
        for i in 0..<k {
            pmf *= (Double(i) + shape) / Double(i + 1) * (1 - p)
            total += pmf
        }
        return min(total, 1)
    }

    /// The smallest k with P(Y ≤ k) ≥ q, for each level (ascending), in one pass.
    public func quantiles(_ levels: [Double]) -> [Int] {
        guard mean > 0 else { return levels.map { _ in 0 } }
        let p = shape / (shape + mean)
        // Start from log space so a large shape cannot underflow pmf(0) to zero.
        var logPmf = shape * log(p)
        var k = 0
        var total = exp(logPmf)
        var out: [Int] = []
        for q in levels {
            while total < q && k < 10_000_000 {
                logPmf += log((Double(k) + shape) / Double(k + 1) * (1 - p))
                k += 1
                total += exp(logPmf)
            }
            out.append(k)
        }
        return out
    }
}
