/// Layer normalisation over each row: y = γ·(x − μ)/σ + β, σ = √(var + ε).
public final class LayerNorm {
    public let gamma: Parameter
    public let beta: Parameter
    let epsilon: Float = 1e-5
    private var normalized = Matrix(rows: 0, cols: 0)
    private var inverseStd: [Float] = []

    public init(_ features: Int, name: String = "layernorm") {
        gamma = Parameter("\(name).gamma", Matrix(rows: 1, cols: features, data: Array(repeating: 1, count: features)))
        beta = Parameter("\(name).beta", Matrix(rows: 1, cols: features))
    }

    public var parameters: [Parameter] { [gamma, beta] }

    public func forward(_ x: Matrix) -> Matrix {
        let n = x.cols
        normalized = x
        inverseStd = Array(repeating: 0, count: x.rows)
        var y = x
        for r in 0..<x.rows {
            var mean: Float = 0
            for c in 0..<n { mean += x.data[r * n + c] }
            mean /= Float(n)
            var variance: Float = 0
            for c in 0..<n { let d = x.data[r * n + c] - mean; variance += d * d }
            variance /= Float(n)
            let inv = 1 / (variance + epsilon).squareRoot()
            inverseStd[r] = inv
            for c in 0..<n {
                let xhat = (x.data[r * n + c] - mean) * inv
                normalized.data[r * n + c] = xhat
                y.data[r * n + c] = gamma.value.data[c] * xhat + beta.value.data[c]
            }
        }
        return y
    }

    /// dx = (1/σ)·(g − mean(g) − x̂·mean(g·x̂)) with g = dy·γ.
    public func backward(_ dy: Matrix) -> Matrix {
        let n = dy.cols
        var dx = dy
        for r in 0..<dy.rows {
            var meanG: Float = 0, meanGX: Float = 0
            for c in 0..<n {
                let g = dy.data[r * n + c] * gamma.value.data[c]
                meanG += g
                meanGX += g * normalized.data[r * n + c]
                gamma.grad.data[c] += dy.data[r * n + c] * normalized.data[r * n + c]
                beta.grad.data[c] += dy.data[r * n + c]
            }
            meanG /= Float(n)
            meanGX /= Float(n)
            for c in 0..<n {
                let g = dy.data[r * n + c] * gamma.value.data[c]
                dx.data[r * n + c] = inverseStd[r] * (g - meanG - normalized.data[r * n + c] * meanGX)
            }
        }
        return dx
    }
}
