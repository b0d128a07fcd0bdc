import Foundation

/// Constant-elasticity price response, the standard form of demand economics: each row's
/// quantiles times exp(β·Δ), where Δ = log(target price / price now) and the elasticity
/// β = −softplus(a) ≤ 0 comes from the network (one raw value a per row). A planned price change
/// by a factor f then moves every quantile by f^β: the response keeps its form outside the price
/// changes seen in training, and a price rise never raises demand.
public final class PriceElasticity {
    private var q = Matrix(rows: 0, cols: 0)
    private var a: [Float] = []
    private var logChange: [Float] = []
    private var out = Matrix(rows: 0, cols: 0)
    public init() {}

    /// The elasticity of raw value a.
    public static func beta(_ a: Float) -> Float { -Softplus.value(a) }

    /// q: [rows, Q]; a, logChange: one per row.
    public func forward(_ q: Matrix, a: [Float], logChange: [Float]) -> Matrix {
        precondition(a.count == q.rows && logChange.count == q.rows)
        self.q = q
        self.a = a
        self.logChange = logChange
        var y = q
        for r in 0..<q.rows where logChange[r] != 0 {
            let m = exp(Self.beta(a[r]) * logChange[r])
            for j in 0..<q.cols { y[r, j] *= m }
        }
        out = y
        return y
    }

    /// dq = dy·m; da = Σ_j dy_j·y_j·Δ · dβ/da, with dβ/da = −sigmoid(a).
    public func backward(_ dy: Matrix) -> (dq: Matrix, da: [Float]) {
        var dq = dy
        var da = [Float](repeating: 0, count: dy.rows)
        for r in 0..<dy.rows where logChange[r] != 0 {
            let m = exp(Self.beta(a[r]) * logChange[r])
            var dBeta: Float = 0
            for j in 0..<dy.cols {
                dq[r, j] *= m
                dBeta += dy[r, j] * out[r, j] * logChange[r]
            }
            da[r] = -dBeta / (1 + exp(-a[r]))
        }
        return (dq, da)
    }
}
