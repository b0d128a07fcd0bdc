import Foundation

/// Pinball (quantile) loss: ρ_q(u) = max(q·u, (q − 1)·u), u = y − ŷ, summed over rows and
/// quantiles with a per-row weight (0 masks padding), divided by `normalizer` (e.g. Σ|y|).
public enum PinballLoss {
    /// ρ_q(u) for one residual u = y − ŷ (the one definition: training, metrics and fits use it).
    @inline(__always) public static func rho<T: FloatingPoint>(_ q: T, _ u: T) -> T { max(q * u, (q - 1) * u) }

    /// predictions: [n, Q]; targets, weights: n values. Returns the loss and dLoss/dpredictions.
    public static func evaluate(_ predictions: Matrix, targets: [Float], quantiles: [Float], weights: [Float]? = nil,
                                normalizer: Float = 1) -> (loss: Float, gradient: Matrix) {
        precondition(predictions.cols == quantiles.count && predictions.rows == targets.count)
        var loss: Float = 0
        var grad = Matrix(rows: predictions.rows, cols: predictions.cols)
        for r in 0..<predictions.rows {
            let w = (weights?[r] ?? 1) / normalizer
            guard w != 0 else { continue }
            for (j, q) in quantiles.enumerated() {
                let u = targets[r] - predictions[r, j]
                loss += w * rho(q, u)
                grad[r, j] = w * (u > 0 ? -q : 1 - q)
            }
        }
        return (loss, grad)
    }
}

/// Forecast-stability penalty (Godahewa et al. 2023, "On forecast stability": the vertical
/// stability term): λ·|ŷ − a|, weighted per row, where a is what the previous forecast said for the
/// same target (NaN: no previous forecast, no penalty). On one column (the median). Added to the
/// pinball loss it gives a dead band: the loss-optimal median stays at a while a lies between the
/// (0.5 − λ) and (0.5 + λ) quantiles of the outcome, and otherwise moves only to the band's edge.
public enum StabilityPenalty {
    /// predictions: [n, Q]; anchors, weights: n values. Returns the penalty and its gradient, added into `gradient`.
    public static func evaluate(_ predictions: Matrix, column: Int, anchors: [Float], weight lambda: Float, weights: [Float],
                                normalizer: Float = 1, into gradient: inout Matrix) -> Float {
        precondition(anchors.count == predictions.rows && weights.count == predictions.rows)
        var loss: Float = 0
        for r in 0..<predictions.rows where !anchors[r].isNaN && weights[r] != 0 {
            let w = lambda * weights[r] / normalizer, d = predictions[r, column] - anchors[r]
            loss += w * abs(d)
            gradient[r, column] += d > 0 ? w : d < 0 ? -w : 0
        }
        return loss
    }
}

/// Adam with global-norm gradient clipping (deterministic).
public final class Adam {
    public var learningRate: Float
    let beta1: Float = 0.9, beta2: Float = 0.999, epsilon: Float = 1e-8
    public var clipNorm: Float?
    private var m: [ObjectIdentifier: [Float]] = [:]
    private var v: [ObjectIdentifier: [Float]] = [:]
    private var step = 0

    public init(learningRate: Float = 1e-3, clipNorm: Float? = 1) {
        self.learningRate = learningRate
        self.clipNorm = clipNorm
    }

    /// Updates the parameters from their gradients, then zeroes the gradients. Returns the
    /// gradient norm before clipping.
    @discardableResult
    public func update(_ parameters: [Parameter]) -> Float {
        var squared: Float = 0
        for p in parameters { for g in p.grad.data { squared += g * g } }
        let norm = squared.squareRoot()
        let factor = clipNorm.map { norm > $0 ? $0 / norm : 1 } ?? 1
        step += 1
        let c1 = 1 - pow(beta1, Float(step)), c2 = 1 - pow(beta2, Float(step))
        for p in parameters {
            let id = ObjectIdentifier(p)
            var mp = m[id] ?? Array(repeating: 0, count: p.value.count)
            var vp = v[id] ?? Array(repeating: 0, count: p.value.count)
            for i in 0..<p.value.count {
                let g = p.grad.data[i] * factor
                mp[i] = beta1 * mp[i] + (1 - beta1) * g
                vp[i] = beta2 * vp[i] + (1 - beta2) * g * g
                p.value.data[i] -= learningRate * (mp[i] / c1) / ((vp[i] / c2).squareRoot() + epsilon)
            }
            m[id] = mp
            v[id] = vp
            p.zeroGrad()
        }
        return norm
    }
}
