import Foundation

/// Multi-head attention with masks. Queries come from one input, keys and values from others
/// (decoder-encoder attention: query [h_t; r_{t+k}], keys [h_τ; r_τ], values h_τ). Each of the
/// `batch` groups has `queries` query rows and `keys` key/value rows; `mask[b][i·keys + j]`
/// false hides key j from query i (a row with every key hidden outputs zeros).
public final class MultiHeadAttention {
    public let wq: Dense, wk: Dense, wv: Dense, wo: Dense
    public let heads: Int
    let headDim: Int
    private var q = Matrix(rows: 0, cols: 0), k = Matrix(rows: 0, cols: 0), v = Matrix(rows: 0, cols: 0)
    private var probabilities: [[Matrix]] = []  // [batch][head] queries × keys
    private var shape = (batch: 0, queries: 0, keys: 0)

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

    public func forward(query: Matrix, key: Matrix, value: Matrix, batch: Int, mask: [[Bool]]? = nil) -> Matrix {
        let nq = query.rows / batch, nk = key.rows / batch
        shape = (batch, nq, nk)
        q = wq.forward(query); k = wk.forward(key); v = wv.forward(value)
        let scale = 1 / Float(headDim).squareRoot()
        var concat = Matrix(rows: query.rows, cols: heads * headDim)
        probabilities = []
        for b in 0..<batch {
            var perHead: [Matrix] = []
            for h in 0..<heads {
                let qh = q.rows(b * nq, nq).columns(h * headDim, headDim)
                let kh = k.rows(b * nk, nk).columns(h * headDim, headDim)
                let vh = v.rows(b * nk, nk).columns(h * headDim, headDim)
                var scores = matmul(qh, kh, transposeB: true)
                for i in 0..<nq {
                    var mx = -Float.infinity
                    for j in 0..<nk {
                        if let mask, !mask[b][i * nk + j] { scores[i, j] = -.infinity } else { scores[i, j] *= scale }
                        mx = max(mx, scores[i, j])
                    }
                    var total: Float = 0
                    for j in 0..<nk {
                        let e = mx == -.infinity ? 0 : exp(scores[i, j] - mx)
                        scores[i, j] = e
                        total += e
                    }
                    for j in 0..<nk { scores[i, j] = total > 0 ? scores[i, j] / total : 0 }
                }
                let out = matmul(scores, vh)
                for i in 0..<nq { for c in 0..<headDim { concat[b * nq + i, h * headDim + c] = out[i, c] } }
                perHead.append(scores)
            }
            probabilities.append(perHead)
        }
        return wo.forward(concat)
    }

    /// Returns the gradients of the query, key and value inputs.
    public func backward(_ dy: Matrix) -> (query: Matrix, key: Matrix, value: Matrix) {
        let (batch, nq, nk) = shape
        let dConcat = wo.backward(dy)
        let scale = 1 / Float(headDim).squareRoot()
        var dq = Matrix(rows: q.rows, cols: q.cols), dk = Matrix(rows: k.rows, cols: k.cols), dv = Matrix(rows: v.rows, cols: v.cols)
        for b in 0..<batch {
            for h in 0..<heads {
                let p = probabilities[b][h]
                let qh = q.rows(b * nq, nq).columns(h * headDim, headDim)
                let kh = k.rows(b * nk, nk).columns(h * headDim, headDim)
                let vh = v.rows(b * nk, nk).columns(h * headDim, headDim)
                let dOut = dConcat.rows(b * nq, nq).columns(h * headDim, headDim)
                let dvh = matmul(p, transposeA: true, dOut)
                var dScores = matmul(dOut, vh, transposeB: true)
                // Softmax backward: dS = P ⊙ (dP − Σ_j dP·P), then the 1/√d scale.
                for i in 0..<nq {
                    var dot: Float = 0
                    for j in 0..<nk { dot += dScores[i, j] * p[i, j] }
                    for j in 0..<nk { dScores[i, j] = p[i, j] * (dScores[i, j] - dot) * scale }
                }
                let dqh = matmul(dScores, kh)
                let dkh = matmul(dScores, transposeA: true, qh)
                for i in 0..<nq { for c in 0..<headDim { dq[b * nq + i, h * headDim + c] = dqh[i, c] } }
                for j in 0..<nk {
                    for c in 0..<headDim {
                        dk[b * nk + j, h * headDim + c] = dkh[j, c]
                        dv[b * nk + j, h * headDim + c] = dvh[j, c]
                    }
                }
            }
        }
        return (wq.backward(dq), wk.backward(dk), wv.backward(dv))
    }
}
