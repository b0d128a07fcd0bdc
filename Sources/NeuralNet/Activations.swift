import Foundation

/// Elementwise activations; each keeps what its backward needs.
public final class ReLU {
    private var input = Matrix(rows: 0, cols: 0)
    public init() {}

    public func forward(_ x: Matrix) -> Matrix {
        input = x
        var y = x
        y.data.withUnsafeMutableBufferPointer { p in for i in p.indices { p[i] = max(p[i], 0) } }
        return y
    }

    public func backward(_ dy: Matrix) -> Matrix {
        var dx = dy
        input.data.withUnsafeBufferPointer { x in
            dx.data.withUnsafeMutableBufferPointer { p in for i in p.indices where x[i] <= 0 { p[i] = 0 } }
        }
        return dx
    }
}

/// GELU, tanh approximation: 0.5·x·(1 + tanh(√(2/π)(x + 0.044715x³))).
public final class GELU {
    private var input = Matrix(rows: 0, cols: 0)
    public init() {}
    static let k = Float((2 / Double.pi).squareRoot())

    public func forward(_ x: Matrix) -> Matrix {
        input = x
        var y = x
        for i in y.data.indices {
            let v = x.data[i]
            y.data[i] = 0.5 * v * (1 + tanh(Self.k * (v + 0.044715 * v * v * v)))
        }
        return y
    }

    public func backward(_ dy: Matrix) -> Matrix {
        var dx = dy
        for i in dx.data.indices {
            let v = input.data[i]
            let u = Self.k * (v + 0.044715 * v * v * v)
            let t = tanh(u)
            let du = Self.k * (1 + 3 * 0.044715 * v * v)
            dx.data[i] = dy.data[i] * (0.5 * (1 + t) + 0.5 * v * (1 - t * t) * du)
        }
        return dx
    }
}

/// softplus(x) = log(1 + eˣ), computed stably; its derivative is the logistic function.
public final class Softplus {
    private var input = Matrix(rows: 0, cols: 0)
    public init() {}

    public static func value(_ x: Float) -> Float { x > 20 ? x : log1p(exp(x)) }

    public func forward(_ x: Matrix) -> Matrix {
        input = x
        var y = x
        for i in y.data.indices { y.data[i] = Self.value(x.data[i]) }
        return y
    }

    public func backward(_ dy: Matrix) -> Matrix {
        var dx = dy
        for i in dx.data.indices { dx.data[i] = dy.data[i] / (1 + exp(-input.data[i])) }
        return dx
    }
}
