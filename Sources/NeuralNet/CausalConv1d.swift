/// Dilated causal 1-D convolution over sequences stacked as rows: x is [batch·steps, in] and
/// y[b, t] = bias + Σ_j x[b, t − j·dilation]·W_j (zero before the start), so y_t sees nothing
/// after t. Computed as im2col + one sgemm.
public final class CausalConv1d {
    public let weight: Parameter   // [kernel·in, out]; rows j·in..<(j+1)·in multiply x[t − j·d]
    public let bias: Parameter
    public let kernel: Int
    public let dilation: Int
    let inputs: Int

    /// One thread's unfolded input (im2col) and shape, and the gradients (dW, db).
    public struct Workspace: GradientWorkspace, Sendable {
        var columns = Matrix(rows: 0, cols: 0)
        var batch = 0, steps = 0
        public var gradients: [Matrix]
        public mutating func zeroGradients() { for i in gradients.indices { gradients[i].setZero() } }
    }

    public init(_ inputs: Int, _ outputs: Int, kernel: Int, dilation: Int, init rng: inout Initializer, name: String = "conv") {
        self.inputs = inputs
        self.kernel = kernel
        self.dilation = dilation
        weight = Parameter("\(name).weight", rng.glorot(kernel * inputs, outputs))
        bias = Parameter("\(name).bias", Matrix(rows: 1, cols: outputs))
    }

    public var parameters: [Parameter] { [weight, bias] }
    public func workspace() -> Workspace { Workspace(gradients: parameters.map(\.zeroGradient)) }

    public func forward(_ x: Matrix, batch: Int, steps: Int, _ ws: inout Workspace) -> Matrix {
        precondition(x.rows == batch * steps && x.cols == inputs)
        ws.batch = batch
        ws.steps = steps
        // im2col into a local (the workspace's would pay exclusivity checks per element).
        var cols = Matrix(rows: x.rows, cols: kernel * inputs)
        let (k, d, n) = (kernel, dilation, inputs)
        x.data.withUnsafeBufferPointer { src in
            cols.data.withUnsafeMutableBufferPointer { dst in
                for b in 0..<batch {
                    for t in 0..<steps {
                        let row = (b * steps + t) * k * n
                        for j in 0..<k where t - j * d >= 0 {
                            let from = (b * steps + t - j * d) * n
                            for c in 0..<n { dst[row + j * n + c] = src[from + c] }
                        }
                    }
                }
            }
        }
        ws.columns = cols
        var y = Matrix.repeating(row: bias.value, rows: x.rows)
        gemm(cols, weight.value, into: &y, beta: 1)
        return y
    }

    public func backward(_ dy: Matrix, _ ws: inout Workspace) -> Matrix {
        gemm(ws.columns, transposeA: true, dy, into: &ws.gradients[0], beta: 1)
        dy.addColumnSums(to: &ws.gradients[1])
        let dColumns = matmul(dy, weight.value, transposeB: true)
        var dx = Matrix(rows: dy.rows, cols: inputs)
        let (batch, steps) = (ws.batch, ws.steps)
        let (k, d, n) = (kernel, dilation, inputs)
        dColumns.data.withUnsafeBufferPointer { src in
            dx.data.withUnsafeMutableBufferPointer { dst in
                for b in 0..<batch {
                    for t in 0..<steps {
                        let row = (b * steps + t) * k * n
                        for j in 0..<k where t - j * d >= 0 {
                            let to = (b * steps + t - j * d) * n
                            for c in 0..<n { dst[to + c] += src[row + j * n + c] }
                        }
                    }
                }
            }
        }
        return dx
    }
}
