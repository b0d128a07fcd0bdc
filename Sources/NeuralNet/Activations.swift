import Foundation

/// Elementwise activations. Their workspace is the input their backward needs; they have no
/// parameters.
public struct ActivationWorkspace: Sendable {
    var input = Matrix(rows: 0, cols: 0)
    public init() {}
}

public final class ReLU {
    public init() {}

    public func forward(_ x: Matrix, _ ws: inout ActivationWorkspace) -> Matrix {
        ws.input = x
        var y = x
        y.data.withUnsafeMutableBufferPointer { p in for i in p.indices { p[i] = max(p[i], 0) } }
        return y
    }

    public func backward(_ dy: Matrix, _ ws: ActivationWorkspace) -> Matrix {
        var dx = dy
        ws.input.data.withUnsafeBufferPointer { x in
            dx.data.withUnsafeMutableBufferPointer { p in for i in p.indices where x[i] <= 0 { p[i] = 0 } }
        }
        return dx
    }
}

/// GELU, tanh approximation: 0.5·x·(1 + tanh(√(2/π)(x + 0.044715x³))).
public final class GELU {
    public init() {}
    static let k = Float((2 / Double.pi).squareRoot())

    public func forward(_ x: Matrix, _ ws: inout ActivationWorkspace) -> Matrix {
        ws.input = x
        var y = x
        for i in y.data.indices {
            let v = x.data[i]
            y.data[i] = 0.5 * v * (1 + tanh(Self.k * (v + 0.044715 * v * v * v)))
        }
        return y
    }

    public func backward(_ dy: Matrix, _ ws: ActivationWorkspace) -> Matrix {
        var dx = dy
        for i in dx.data.indices {
            let v = ws.input.data[i]
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
    public init() {}

    public static func value(_ x: Float) -> Float { x > 20 ? x : log1p(exp(x)) }

    public func forward(_ x: Matrix, _ ws: inout ActivationWorkspace) -> Matrix {
        ws.input = x
        var y = x
        for i in y.data.indices { y.data[i] = Self.value(x.data[i]) }
        return y
    }

    public func backward(_ dy: Matrix, _ ws: ActivationWorkspace) -> Matrix {
        var dx = dy
        for i in dx.data.indices { dx.data[i] = dy.data[i] / (1 + exp(-ws.input.data[i])) }
        return dx
    }
}
