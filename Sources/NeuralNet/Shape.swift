/// The ops that lay out a network's inputs: placing matrices side by side, stacking them, picking
/// rows, and reading a [B·H, d] matrix as [B, H·d]. They only move values, so each backward moves
/// the gradient back: a concat's is a split, a gather's a scatter that adds (a row picked twice
/// gets both gradients).

/// Matrices with the same rows, side by side: [n, Σ widths].
public func concatColumns(_ parts: [Matrix]) -> Matrix {
    let rows = parts.first?.rows ?? 0
    precondition(parts.allSatisfy { $0.rows == rows }, "concatColumns: every part needs \(rows) rows")
    let width = parts.reduce(0) { $0 + $1.cols }
    var out = Matrix(rows: rows, cols: width)
    var offset = 0
    out.data.withUnsafeMutableBufferPointer { dst in
        for part in parts {
            let n = part.cols
            part.data.withUnsafeBufferPointer { src in
                for r in 0..<rows { for c in 0..<n { dst[r * width + offset + c] = src[r * n + c] } }
            }
            offset += n
        }
    }
    return out
}

/// concatColumns' backward: the gradient cut back into the parts' widths.
public func splitColumns(_ dy: Matrix, _ widths: [Int]) -> [Matrix] {
    precondition(widths.reduce(0, +) == dy.cols, "splitColumns: widths \(widths) do not add up to \(dy.cols) columns")
    return consecutive(widths) { dy.columns($0, $1) }
}

/// take(from, n) for consecutive runs of the given sizes.
private func consecutive(_ sizes: [Int], _ take: (Int, Int) -> Matrix) -> [Matrix] {
    var from = 0
    return sizes.map { n in
        defer { from += n }
        return take(from, n)
    }
}

/// Matrices with the same columns, one under another: [Σ rows, n].
public func concatRows(_ parts: [Matrix]) -> Matrix {
    let cols = parts.first?.cols ?? 0
    precondition(parts.allSatisfy { $0.cols == cols }, "concatRows: every part needs \(cols) columns")
    var out = Matrix(rows: parts.reduce(0) { $0 + $1.rows }, cols: cols)
    out.data.removeAll(keepingCapacity: true)
    for part in parts { out.data.append(contentsOf: part.data) }
    return out
}

/// concatRows' backward: the gradient cut back into the parts' rows.
public func splitRows(_ dy: Matrix, _ counts: [Int]) -> [Matrix] {
    precondition(counts.reduce(0, +) == dy.rows, "splitRows: counts \(counts) do not add up to \(dy.rows) rows")
    return consecutive(counts) { dy.rows($0, $1) }
}

/// Row `indices[i]` of x as row i: [indices.count, x.cols].
public func gatherRows(_ x: Matrix, _ indices: [Int]) -> Matrix {
    let n = x.cols
    var out = Matrix(rows: indices.count, cols: n)
    x.data.withUnsafeBufferPointer { src in
        out.data.withUnsafeMutableBufferPointer { dst in
            for (i, r) in indices.enumerated() {
                precondition(r >= 0 && r < x.rows, "gatherRows: row \(r) of \(x.rows)")
                for c in 0..<n { dst[i * n + c] = src[r * n + c] }
            }
        }
    }
    return out
}

/// gatherRows' backward: row i of dy added to row `indices[i]` of `into` (a [x.rows, cols]
/// gradient, which may already hold other paths' gradients).
public func scatterAddRows(_ dy: Matrix, _ indices: [Int], into dx: inout Matrix) {
    precondition(indices.count == dy.rows && dx.cols == dy.cols, "scatterAddRows: shapes do not match")
    let n = dy.cols
    dy.data.withUnsafeBufferPointer { src in
        dx.data.withUnsafeMutableBufferPointer { dst in
            for (i, r) in indices.enumerated() { for c in 0..<n { dst[r * n + c] += src[i * n + c] } }
        }
    }
}

extension Matrix {
    /// The same values read with another shape (row-major, so [B·H, d] as [B, H·d] puts each
    /// example's H rows side by side). Its backward is the reshape back.
    public func reshaped(rows: Int, cols: Int) -> Matrix {
        precondition(rows * cols == count, "reshaped: \(self.rows)×\(self.cols) has \(count) values, not \(rows)×\(cols)")
        var out = self
        out.rows = rows
        out.cols = cols
        return out
    }
}

/// Row indices for the layouts a batch of B examples uses: example e's rows are e·n ..< (e+1)·n.
public enum RowIndex {
    /// For every example e and each of its `each` rows, the row `e·stride + offset` (e.g. the last
    /// context step of each example, once per horizon).
    public static func perExample(_ b: Int, each: Int, stride: Int, offset: Int) -> [Int] {
        var out: [Int] = []
        out.reserveCapacity(b * each)
        for e in 0..<b { for _ in 0..<each { out.append(e * stride + offset) } }
        return out
    }
}
