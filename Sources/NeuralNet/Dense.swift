/// y = x·W + b. x: [n, in], W: [in, out], b: [1, out].
public final class Dense {
    public let weight: Parameter
    public let bias: Parameter
    private var input = Matrix(rows: 0, cols: 0)

    public init(_ inputs: Int, _ outputs: Int, init rng: inout Initializer, name: String = "dense") {
        weight = Parameter("\(name).weight", rng.glorot(inputs, outputs))
        bias = Parameter("\(name).bias", Matrix(rows: 1, cols: outputs))
    }

    public var parameters: [Parameter] { [weight, bias] }

    public func forward(_ x: Matrix) -> Matrix {
        input = x
        var y = Matrix.repeating(row: bias.value, rows: x.rows)
        gemm(x, weight.value, into: &y, beta: 1)
        return y
    }

    /// dW += xᵀ·dy, db += Σ dy, returns dx = dy·Wᵀ.
    public func backward(_ dy: Matrix) -> Matrix {
        gemm(input, transposeA: true, dy, into: &weight.grad, beta: 1)
        dy.addColumnSums(to: &bias.grad)
        return matmul(dy, weight.value, transposeB: true)
    }
}
