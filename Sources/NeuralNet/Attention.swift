import Foundation

/// Multi-head attention with masks. Queries come from one input, keys and values from others
/// (decoder-encoder attention: query [h_t; r_{t+k}], keys [h_τ; r_τ], values h_τ). Each of the
/// `batch` groups has `queries` query rows and `keys` key/value rows; `mask[b][i·keys + j]`
/// false hides key j from query i (a row with every key hidden outputs zeros).
public final class MultiHeadAttention {
    public let wq: Dense, wk: Dense, wv: Dense, wo: Dense
    public let heads: Int
    let headDim: Int

    /// One thread's projections and softmax weights, and its projections' workspaces (which hold
    /// the gradients, in `parameters` order).
    public struct Workspace: GradientWorkspace, Sendable {
        var q = Matrix(rows: 0, cols: 0), k = Matrix(rows: 0, cols: 0), v = Matrix(rows: 0, cols: 0)
        /// Softmax weights of the last forward, flat: [batch][head][query][key].
        var probabilities: [Float] = []
        var batch = 0, queries = 0, keys = 0
        var wq: Dense.Workspace, wk: Dense.Workspace, wv: Dense.Workspace, wo: Dense.Workspace
        public var gradients: [Matrix] { wq.gradients + wk.gradients + wv.gradients + wo.gradients }
        public mutating func zeroGradients() {
            wq.zeroGradients(); wk.zeroGradients(); wv.zeroGradients(); wo.zeroGradients()
        }
    }

    public init(queryInputs: Int, keyInputs: Int, valueInputs: Int, outputs: Int, heads: Int, headDim: Int,
                init rng: inout Initializer, name: String = "attention") {
        self.heads = heads
        self.headDim = headDim
        wq = Dense(queryInputs, heads * headDim, init: &rng, name: "\(name).q")
        wk = Dense(keyInputs, heads * headDim, init: &rng, name: "\(name).k")
        wv = Dense(valueInputs, heads * headDim, init: &rng, name: "\(name).v")
        wo = Dense(heads * headDim, outputs, init: &rng, name: "\(name).o")
    }

    public var parameters: [Parameter] { wq.parameters + wk.parameters + wv.parameters + wo.parameters }
    public func workspace() -> Workspace { Workspace(wq: wq.workspace(), wk: wk.workspace(), wv: wv.workspace(), wo: wo.workspace()) }

    /// Scores, softmax and the weighted sum run as plain loops over the projected rows: per group
    /// they are tiny (a few queries × a few dozen keys × head width 8), where a BLAS call per group
    /// and head costs more in call overhead and copies than the arithmetic. The four projections
    /// are the large matrix products and go through BLAS.
    public func forward(query: Matrix, key: Matrix, value: Matrix, batch: Int, mask: [[Bool]]? = nil, _ ws: inout Workspace) -> Matrix {
        let nq = query.rows / batch, nk = key.rows / batch
        (ws.batch, ws.queries, ws.keys) = (batch, nq, nk)
        let q = wq.forward(query, &ws.wq), k = wk.forward(key, &ws.wk), v = wv.forward(value, &ws.wv)
        let hd = headDim, width = heads * headDim, scale = 1 / Float(headDim).squareRoot()
        var concat = Matrix(rows: query.rows, cols: width)
        var probabilities = [Float](repeating: 0, count: batch * heads * nq * nk)
        q.data.withUnsafeBufferPointer { Q in
        k.data.withUnsafeBufferPointer { K in
        v.data.withUnsafeBufferPointer { V in
        concat.data.withUnsafeMutableBufferPointer { O in
        probabilities.withUnsafeMutableBufferPointer { P in
            for b in 0..<batch {
                let hidden = mask?[b]
                for h in 0..<heads {
                    for i in 0..<nq {
                        let qrow = (b * nq + i) * width + h * hd, orow = qrow
                        let p = P.baseAddress! + ((b * heads + h) * nq + i) * nk
                        var mx = -Float.infinity
                        for j in 0..<nk {
                            if let hidden, !hidden[i * nk + j] { p[j] = -.infinity; continue }
                            let krow = (b * nk + j) * width + h * hd
                            var s: Float = 0
                            for c in 0..<hd { s += Q[qrow + c] * K[krow + c] }
                            p[j] = s * scale
                            mx = max(mx, p[j])
                        }
                        var total: Float = 0
                        for j in 0..<nk {
                            let e = mx == -.infinity ? 0 : exp(p[j] - mx)
                            p[j] = e
                            total += e
                        }
                        let inverse: Float = total > 0 ? 1 / total : 0
                        for j in 0..<nk {
                            p[j] *= inverse
                            let w = p[j], vrow = (b * nk + j) * width + h * hd
                            for c in 0..<hd { O[orow + c] += w * V[vrow + c] }
                        }
                    }
                }
            }
        }}}}}
        GEMMStatistics.add(flops: 4 * batch * heads * nq * nk * hd)  // Q·Kᵀ and P·V
        (ws.q, ws.k, ws.v, ws.probabilities) = (q, k, v, probabilities)
        return wo.forward(concat, &ws.wo)
    }

    /// Returns the gradients of the query, key and value inputs.
    public func backward(_ dy: Matrix, _ ws: inout Workspace) -> (query: Matrix, key: Matrix, value: Matrix) {
        let (batch, nq, nk) = (ws.batch, ws.queries, ws.keys)
        let (q, k, v, probabilities) = (ws.q, ws.k, ws.v, ws.probabilities)
        let dConcat = wo.backward(dy, &ws.wo)
        let hd = headDim, width = heads * headDim, scale = 1 / Float(headDim).squareRoot()
        var dq = Matrix(rows: q.rows, cols: q.cols), dk = Matrix(rows: k.rows, cols: k.cols), dv = Matrix(rows: v.rows, cols: v.cols)
        var dP = [Float](repeating: 0, count: nk)
        q.data.withUnsafeBufferPointer { Q in
        k.data.withUnsafeBufferPointer { K in
        v.data.withUnsafeBufferPointer { V in
        dConcat.data.withUnsafeBufferPointer { dO in
        probabilities.withUnsafeBufferPointer { P in
        dq.data.withUnsafeMutableBufferPointer { dQ in
        dk.data.withUnsafeMutableBufferPointer { dK in
        dv.data.withUnsafeMutableBufferPointer { dV in
            for b in 0..<batch {
                for h in 0..<heads {
                    for i in 0..<nq {
                        let qrow = (b * nq + i) * width + h * hd, orow = qrow
                        let p = P.baseAddress! + ((b * heads + h) * nq + i) * nk
                        // out_i = Σ_j p_ij v_j: dv_j += p_ij dout_i, dp_ij = dout_i · v_j.
                        var dot: Float = 0
                        for j in 0..<nk {
                            let vrow = (b * nk + j) * width + h * hd
                            var d: Float = 0
                            for c in 0..<hd {
                                d += dO[orow + c] * V[vrow + c]
                                dV[vrow + c] += p[j] * dO[orow + c]
                            }
                            dP[j] = d
                            dot += d * p[j]
                        }
                        // Softmax backward dS = P ⊙ (dP − Σ_j dP·P), the 1/√d scale, then
                        // s_ij = q_i · k_j: dq_i += dS k_j, dk_j += dS q_i.
                        for j in 0..<nk where p[j] != 0 {
                            let ds = p[j] * (dP[j] - dot) * scale, krow = (b * nk + j) * width + h * hd
                            for c in 0..<hd {
                                dQ[qrow + c] += ds * K[krow + c]
                                dK[krow + c] += ds * Q[qrow + c]
                            }
                        }
                    }
                }
            }
        }}}}}}}}
        return (wq.backward(dq, &ws.wq), wk.backward(dk, &ws.wk), wv.backward(dv, &ws.wv))
    }
}
