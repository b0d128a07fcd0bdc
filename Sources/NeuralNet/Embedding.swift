/// A lookup table: row i of the table for id i (e.g. categories).
public final class Embedding {
    public let table: Parameter

    /// One thread's looked-up ids and the table's gradient.
    public struct Workspace: GradientWorkspace, Sendable {
        var ids: [Int] = []
        public var gradients: [Matrix]
        public mutating func zeroGradients() { for i in gradients.indices { gradients[i].setZero() } }
    }

    public init(_ count: Int, _ dimensions: Int, init rng: inout Initializer, name: String = "embedding") {
        table = Parameter("\(name).table", Matrix(rows: count, cols: dimensions, data: (0..<(count * dimensions)).map { _ in rng.uniform(0.1) }))
    }

    public var parameters: [Parameter] { [table] }
    public func workspace() -> Workspace { Workspace(gradients: [table.zeroGradient]) }

    /// Ids outside the table map to the last row (the "unknown" entry).
    public func forward(_ ids: [Int], _ ws: inout Workspace) -> Matrix {
        let d = table.value.cols, last = table.value.rows - 1
        ws.ids = ids.map { $0 >= 0 && $0 <= last ? $0 : last }
        var y = Matrix(rows: ids.count, cols: d)
        for (r, id) in ws.ids.enumerated() { for c in 0..<d { y.data[r * d + c] = table.value.data[id * d + c] } }
        return y
    }

    public func backward(_ dy: Matrix, _ ws: inout Workspace) {
        let d = table.value.cols
        for (r, id) in ws.ids.enumerated() { for c in 0..<d { ws.gradients[0].data[id * d + c] += dy.data[r * d + c] } }
    }
}
