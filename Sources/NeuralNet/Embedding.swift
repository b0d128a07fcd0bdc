/// A lookup table: row i of the table for id i (e.g. categories).
public final class Embedding {
    public let table: Parameter
    private var ids: [Int] = []

    public init(_ count: Int, _ dimensions: Int, init rng: inout Initializer, name: String = "embedding") {
        table = Parameter("\(name).table", Matrix(rows: count, cols: dimensions, data: (0..<(count * dimensions)).map { _ in rng.uniform(0.1) }))
    }

    public var parameters: [Parameter] { [table] }

    /// Ids outside the table map to the last row (the "unknown" entry).
    public func forward(_ ids: [Int]) -> Matrix {
        let d = table.value.cols, last = table.value.rows - 1
        self.ids = ids.map { $0 >= 0 && $0 <= last ? $0 : last }
        var y = Matrix(rows: ids.count, cols: d)
        for (r, id) in self.ids.enumerated() { for c in 0..<d { y.data[r * d + c] = table.value.data[id * d + c] } }
        return y
    }

    public func backward(_ dy: Matrix) {
        let d = table.value.cols
        for (r, id) in ids.enumerated() { for c in 0..<d { table.grad.data[id * d + c] += dy.data[r * d + c] } }
    }
}
