import Foundation

/// Turns Q raw outputs into ordered, non-negative quantiles: the median is softplus(z_m); each
/// higher quantile adds softplus(z_j) to the one below; each lower one is the one above times
/// exp(−softplus(z_j)). So q_0 ≤ … ≤ q_{Q−1} and all ≥ 0 by construction, with no clipping.
public final class QuantileHead {
    public let median: Int

    /// One thread's raw values and outputs (the head has no parameters).
    public struct Workspace: Sendable {
        var z = Matrix(rows: 0, cols: 0)
        var out = Matrix(rows: 0, cols: 0)
        public init() {}
    }

    /// `levels` ascending; the median slot is the level closest to 0.5.
    public init(levels: [Double]) {
        median = Self.medianIndex(levels)
    }

    /// The median slot of these levels: the one closest to 0.5.
    public static func medianIndex(_ levels: [Double]) -> Int {
        levels.indices.min { abs(levels[$0] - 0.5) < abs(levels[$1] - 0.5) } ?? 0
    }

    static func sigmoid(_ x: Float) -> Float { 1 / (1 + exp(-x)) }

    public func forward(_ z: Matrix, _ ws: inout Workspace) -> Matrix {
        ws.z = z
        var y = Matrix(rows: z.rows, cols: z.cols)
        let m = median, q = z.cols
        for r in 0..<z.rows {
            let row = r * q
            y.data[row + m] = Softplus.value(z.data[row + m])
            if m + 1 < q { for j in (m + 1)..<q { y.data[row + j] = y.data[row + j - 1] + Softplus.value(z.data[row + j]) } }
            for j in stride(from: m - 1, through: 0, by: -1) { y.data[row + j] = y.data[row + j + 1] * exp(-Softplus.value(z.data[row + j])) }
        }
        ws.out = y
        return y
    }

    public func backward(_ dy: Matrix, _ ws: Workspace) -> Matrix {
        let (z, out) = (ws.z, ws.out)
        var dz = Matrix(rows: dy.rows, cols: dy.cols)
        let m = median, q = dy.cols
        for r in 0..<dy.rows {
            let row = r * q
            var carryDown: Float = 0  // flows from out[j] into out[j+1] on the lower side
            for j in 0..<m {
                let g = dy.data[row + j] + carryDown
                let s = Self.sigmoid(z.data[row + j])
                dz.data[row + j] = -g * out.data[row + j] * s
                carryDown = g * exp(-Softplus.value(z.data[row + j]))
            }
            var carryUp: Float = 0  // flows from out[j] into out[j−1] on the upper side
            for j in stride(from: q - 1, to: m, by: -1) {
                let g = dy.data[row + j] + carryUp
                dz.data[row + j] = g * Self.sigmoid(z.data[row + j])
                carryUp = g
            }
            let g = dy.data[row + m] + carryDown + carryUp
            dz.data[row + m] = g * Self.sigmoid(z.data[row + m])
        }
        return dz
    }
}
