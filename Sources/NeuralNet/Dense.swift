/// y = x·W + b. x: [n, in], W: [in, out], b: [1, out].
public final class Dense {
    public let weight: Parameter
    public let bias: Parameter

    /// One thread's forward input and the gradients its backward adds up (dW, db).
    public struct Workspace: GradientWorkspace, Sendable {
        var input = Matrix(rows: 0, cols: 0)
        public var gradients: [Matrix]
        public mutating func zeroGradients() { for i in gradients.indices { gradients[i].setZero() } }
    }

    public init(_ inputs: Int, _ outputs: Int, init rng: inout Initializer, name: String = "dense") {
        weight = Parameter("\(name).weight", rng.glorot(inputs, outputs))
        bias = Parameter("\(name).bias", Matrix(rows: 1, cols: outputs))
    }

    public var parameters: [Parameter] { [weight, bias] }
    public func workspace() -> Workspace { Workspace(gradients: parameters.map(\.zeroGradient)) }

    public func forward(_ x: Matrix, _ ws: inout Workspace) -> Matrix {
        ws.input = x
        var y = Matrix.repeating(row: bias.value, rows: x.rows)
        gemm(x, weight.value, into: &y, beta: 1)
        return y
    }

    /// dW += xᵀ·dy, db += Σ dy, returns dx = dy·Wᵀ.
    public func backward(_ dy: Matrix, _ ws: inout Workspace) -> Matrix {
        gemm(ws.input, transposeA: true, dy, into: &ws.gradients[0], beta: 1)
        dy.addColumnSums(to: &ws.gradients[1])
        return matmul(dy, weight.value, transposeB: true)
    }
}
