/// Dilated causal 1-D convolution over sequences stacked as rows: x is [batch·steps, in] and
/// y[b, t] = bias + Σ_j x[b, t − j·dilation]·W_j (zero before the start), so y_t sees nothing
/// after t. Computed as im2col + one sgemm.
public final class CausalConv1d {
    public let weight: Parameter   // [kernel·in, out]; rows j·in..<(j+1)·in multiply x[t − j·d]
    public let bias: Parameter
    public let kernel: Int
    public let dilation: Int
    let inputs: Int
    private var columns = Matrix(rows: 0, cols: 0)
    private var shape = (batch: 0, steps: 0)

    public init(_ inputs: Int, _ outputs: Int, kernel: Int, dilation: Int, init rng: inout Initializer, name: String = "conv") {
        self.inputs = inputs
        self.kernel = kernel
        self.dilation = dilation
        weight = Parameter("\(name).weight", rng.glorot(kernel * inputs, outputs))
        bias = Parameter("\(name).bias", Matrix(rows: 1, cols: outputs))
    }

    public var parameters: [Parameter] { [weight, bias] }

    public func forward(_ x: Matrix, batch: Int, steps: Int) -> Matrix {
        precondition(x.rows == batch * steps && x.cols == inputs)
        shape = (batch, steps)
        columns = Matrix(rows: x.rows, cols: kernel * inputs)
        for b in 0..<batch {
            for t in 0..<steps {
                let row = (b * steps + t) * kernel * inputs
                for j in 0..<kernel {
                    let src = t - j * dilation
                    guard src >= 0 else { continue }
                    let from = (b * steps + src) * inputs
                    for c in 0..<inputs { columns.data[row + j * inputs + c] = x.data[from + c] }
                }
            }
        }
        var y = Matrix.repeating(row: bias.value, rows: x.rows)
        gemm(columns, weight.value, into: &y, beta: 1)
        return y
    }

    public func backward(_ dy: Matrix) -> Matrix {
        gemm(columns, transposeA: true, dy, into: &weight.grad, beta: 1)
        dy.addColumnSums(to: &bias.grad)
        let dColumns = matmul(dy, weight.value, transposeB: true)
        var dx = Matrix(rows: dy.rows, cols: inputs)
        let (batch, steps) = shape
        for b in 0..<batch {
            for t in 0..<steps {
                let row = (b * steps + t) * kernel * inputs
                for j in 0..<kernel {
                    let src = t - j * dilation
                    guard src >= 0 else { continue }
                    let to = (b * steps + src) * inputs
                    for c in 0..<inputs { dx.data[to + c] += dColumns.data[row + j * inputs + c] }
                }
            }
        }
        return dx
    }
}
