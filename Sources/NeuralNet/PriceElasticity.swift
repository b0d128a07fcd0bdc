import Foundation

/// Constant-elasticity price response, the standard form of demand economics: each row's
/// quantiles times exp(β·Δ + γ·π), where Δ = log(target price / price now), the elasticity
/// β = −softplus(a) ≤ 0, and — when promotions lift demand beyond their price — π = promo flag of
/// the target − promo flag now (−1, 0 or 1) with the lift γ = softplus(g) ≥ 0. The network gives
/// one raw a (and g) per row. A planned price change by a factor f then moves every quantile by
/// f^β: the response keeps its form outside the price changes seen in training, and a price rise
/// never raises demand. Keeping the promotion's own lift here, beside the price, rather than as a
/// network input, is what lets β be learned from how deep each promotion cut the price: a network
/// that sees the flag explains the average promotion with it and leaves β the small remainder.
public final class PriceElasticity {
    /// One thread's inputs and outputs (the layer has no parameters: a and g come from the network).
    public struct Workspace: Sendable {
        var a: [Float] = [], g: [Float] = []
        var logChange: [Float] = [], promoChange: [Float] = []
        var out = Matrix(rows: 0, cols: 0)
        public init() {}

        /// The log factor of row r.
        public func exponent(_ r: Int) -> Float {
            var x = PriceElasticity.beta(a[r]) * logChange[r]
            if !promoChange.isEmpty && promoChange[r] != 0 { x += PriceElasticity.lift(g[r]) * promoChange[r] }
            return x
        }

        /// exp(exponent) of the first `count` rows (the factors the last forward multiplied by).
        public func factors(_ count: Int) -> [Float] { (0..<count).map { exp(exponent($0)) } }
        /// Rows of the last forward.
        public var rows: Int { logChange.count }

        func moves(_ r: Int) -> Bool { logChange[r] != 0 || (!promoChange.isEmpty && promoChange[r] != 0) }
    }

    public init() {}

    /// The elasticity of raw value a.
    public static func beta(_ a: Float) -> Float { -Softplus.value(a) }
    /// The promotion's lift (log factor) of raw value g.
    public static func lift(_ g: Float) -> Float { Softplus.value(g) }

    /// q: [rows, Q]; a, logChange: one per row; g, promoChange: one per row, or both empty (no lift).
    public func forward(_ q: Matrix, a: [Float], logChange: [Float], g: [Float] = [], promoChange: [Float] = [],
                        _ ws: inout Workspace) -> Matrix {
        precondition(a.count == q.rows && logChange.count == q.rows)
        precondition(g.count == promoChange.count && (g.isEmpty || g.count == q.rows))
        (ws.a, ws.g, ws.logChange, ws.promoChange) = (a, g, logChange, promoChange)
        var y = q
        for r in 0..<q.rows where ws.moves(r) {
            let m = exp(ws.exponent(r))
            for j in 0..<q.cols { y[r, j] *= m }
        }
        ws.out = y
        return y
    }

    /// dq = dy·m; da = Σ_j dy_j·y_j·Δ · dβ/da (dβ/da = −sigmoid(a)), dg = Σ_j dy_j·y_j·π · dγ/dg
    /// (dγ/dg = sigmoid(g)). dg is empty when the forward had no lift.
    public func backward(_ dy: Matrix, _ ws: Workspace) -> (dq: Matrix, da: [Float], dg: [Float]) {
        var dq = dy
        var da = [Float](repeating: 0, count: dy.rows)
        var dg = [Float](repeating: 0, count: ws.g.count)
        for r in 0..<dy.rows where ws.moves(r) {
            let m = exp(ws.exponent(r))
            var dBeta: Float = 0, dLift: Float = 0
            for j in 0..<dy.cols {
                dq[r, j] *= m
                dBeta += dy[r, j] * ws.out[r, j] * ws.logChange[r]
                if !ws.g.isEmpty { dLift += dy[r, j] * ws.out[r, j] * ws.promoChange[r] }
            }
            da[r] = -dBeta / (1 + exp(-ws.a[r]))
            if !ws.g.isEmpty { dg[r] = dLift / (1 + exp(-ws.g[r])) }
        }
        return (dq, da, dg)
    }
}
