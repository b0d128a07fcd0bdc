import COpenBLAS
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// A row-major Float32 matrix: the only tensor shape the layers need (sequences are stacked as
/// rows: [batch·time, channels]). Matrix products go through OpenBLAS; elementwise work is plain
/// loops over the contiguous storage.
public struct Matrix: Equatable, Sendable {
    public var rows: Int
    public var cols: Int
    public var data: [Float]

    public init(rows: Int, cols: Int, data: [Float]? = nil) {
        precondition(data == nil || data!.count == rows * cols, "matrix data has \(data!.count) values, shape needs \(rows * cols)")
        self.rows = rows
        self.cols = cols
        self.data = data ?? Array(repeating: 0, count: rows * cols)
    }

    @inlinable
    public subscript(r: Int, c: Int) -> Float {
        get { data[r * cols + c] }
        set { data[r * cols + c] = newValue }
    }

    public var count: Int { data.count }

    /// Rows [from, from + n) as a new matrix.
    public func rows(_ from: Int, _ n: Int) -> Matrix {
        Matrix(rows: n, cols: cols, data: Array(data[(from * cols)..<((from + n) * cols)]))
    }

    public static func + (a: Matrix, b: Matrix) -> Matrix {
        var out = a
        out += b
        return out
    }

    public static func += (a: inout Matrix, b: Matrix) {
        precondition(a.rows == b.rows && a.cols == b.cols)
        b.data.withUnsafeBufferPointer { src in
            a.data.withUnsafeMutableBufferPointer { dst in for i in dst.indices { dst[i] += src[i] } }
        }
    }

    /// A rows × bias.cols matrix with `bias` (one row) in every row: the start of x·W + b.
    public static func repeating(row bias: Matrix, rows: Int) -> Matrix {
        var out = Matrix(rows: rows, cols: bias.cols)
        let n = bias.cols
        bias.data.withUnsafeBufferPointer { src in
            out.data.withUnsafeMutableBufferPointer { dst in
                for r in 0..<rows { UnsafeMutableRawPointer(dst.baseAddress! + r * n).copyMemory(from: src.baseAddress!, byteCount: 4 * n) }
            }
        }
        return out
    }

    /// Adds the column sums of this matrix to `total` (one row): the bias gradient.
    public func addColumnSums(to total: inout Matrix) {
        let (m, n) = (rows, cols)
        data.withUnsafeBufferPointer { src in
            total.data.withUnsafeMutableBufferPointer { dst in
                for r in 0..<m { for c in 0..<n { dst[c] += src[r * n + c] } }
            }
        }
    }

    /// Columns [from, from + n) of every row.
    public func columns(_ from: Int, _ n: Int) -> Matrix {
        var out = Matrix(rows: rows, cols: n)
        let (m, width) = (rows, cols)
        data.withUnsafeBufferPointer { src in
            out.data.withUnsafeMutableBufferPointer { dst in
                for r in 0..<m { for c in 0..<n { dst[r * n + c] = src[r * width + from + c] } }
            }
        }
        return out
    }
}

/// OpenBLAS's threading, and what its kernels on this CPU guarantee.
public enum BLAS {
    /// One OpenBLAS thread per calling thread, unless the user set OPENBLAS_NUM_THREADS (theirs wins).
    /// The forecaster and the trainer parallelise over products and examples themselves; OpenBLAS's
    /// own threads on top would oversubscribe the cores (measured, 2 cores: 57k vs 92k forecasts/s).
    /// Process-wide, so the process's entry point calls it once (streamcast's `main`).
    public static func useOneThread() {
        guard getenv("OPENBLAS_NUM_THREADS") == nil else { return }
        openblas_set_num_threads(1)
    }

    /// The kernel set OpenBLAS chose for this CPU (e.g. "Haswell", "SkylakeX").
    public static var coreName: String { String(cString: openblas_get_corename()) }

    /// Whether a row of A·B comes out bit-identical wherever it sits in A and however many rows
    /// A has. Checked, not assumed: OpenBLAS 0.3.21's SkylakeX and Sandybridge kernels keep it,
    /// its Haswell/Zen sgemm kernel does not (a row's sum depends on its position modulo 12 —
    /// measured on an AMD EPYC family 26 with OPENBLAS_CORETYPE=Haswell, 2026-11-27; OpenBLAS's
    /// own detection picks row-invariant AVX-512 kernels there). Batch-invariant forecasts rest on it.
    public static let rowsAreBatchInvariant: Bool = {
        var random = Initializer(seed: 1)
        let k = 48, n = 40, rows = 30
        let a = Matrix(rows: rows, cols: k, data: (0..<(rows * k)).map { _ in random.uniform(1) })
        let b = random.glorot(k, n)
        var all = Matrix(rows: rows, cols: n)
        gemm(a, b, into: &all)
        // Every row alone, and every run of 17 rows starting anywhere.
        for start in 0..<rows {
            for count in [1, 17] where start + count <= rows {
                let part = Matrix(rows: count, cols: k, data: Array(a.data[(start * k)..<((start + count) * k)]))
                var out = Matrix(rows: count, cols: n)
                gemm(part, b, into: &out)
                if out.data != Array(all.data[(start * n)..<((start + count) * n)]) { return false }
            }
        }
        return true
    }()
}

/// Floating-point operations issued through `gemm` (2·m·n·k each) and attention's loops, for
/// throughput benchmarks. Off unless a benchmark starts it: serving and training threads run in
/// parallel, so the count is atomic, and when off a call pays one flag load. With `timing` (one
/// thread only: the clock is read per call) also the wall time spent inside cblas_sgemm.
public enum GEMMStatistics {
    /// Switched by `start`/`stop`; read (relaxed) on every call.
    static let countingFlag = Atomic<Bool>(false)
    static let timingFlag = Atomic<Bool>(false)
    static var counting: Bool { countingFlag.load(ordering: .relaxed) }
    static var timing: Bool { timingFlag.load(ordering: .relaxed) }
    static let operations = Atomic<UInt64>(0)
    static let nanoseconds = Atomic<UInt64>(0)

    public static func start(timing: Bool = false) {
        operations.store(0, ordering: .relaxed)
        nanoseconds.store(0, ordering: .relaxed)
        countingFlag.store(true, ordering: .relaxed)
        timingFlag.store(timing, ordering: .relaxed)
    }

    /// Stops counting; returns the flops and (with timing) the seconds inside sgemm since `start`.
    public static func stop() -> (flops: Double, seconds: Double) {
        countingFlag.store(false, ordering: .relaxed)
        timingFlag.store(false, ordering: .relaxed)
        return (Double(operations.load(ordering: .relaxed)), Double(nanoseconds.load(ordering: .relaxed)) * 1e-9)
    }

    @inline(__always) static func add(flops: Int) {
        if counting { operations.wrappingAdd(UInt64(flops), ordering: .relaxed) }
    }

    static func now() -> UInt64 {
        var t = timespec()
        clock_gettime(CLOCK_MONOTONIC, &t)
        return UInt64(t.tv_sec) * 1_000_000_000 + UInt64(t.tv_nsec)
    }
}

/// C = α·op(A)·op(B) + β·C through cblas_sgemm (row-major).
public func gemm(_ a: Matrix, transposeA: Bool = false, _ b: Matrix, transposeB: Bool = false,
                 into c: inout Matrix, alpha: Float = 1, beta: Float = 0) {
    let m = transposeA ? a.cols : a.rows
    let k = transposeA ? a.rows : a.cols
    let n = transposeB ? b.rows : b.cols
    precondition((transposeB ? b.cols : b.rows) == k, "gemm: inner dimensions \(k) and \(transposeB ? b.cols : b.rows) differ")
    precondition(c.rows == m && c.cols == n, "gemm: output is \(c.rows)×\(c.cols), needs \(m)×\(n)")
    guard m > 0, n > 0 else { return }
    GEMMStatistics.add(flops: 2 * m * n * k)
    if k == 0 {
        for i in c.data.indices { c.data[i] *= beta }
        return
    }
    let started = GEMMStatistics.timing ? GEMMStatistics.now() : 0
    defer { if GEMMStatistics.timing { GEMMStatistics.nanoseconds.wrappingAdd(GEMMStatistics.now() - started, ordering: .relaxed) } }
    a.data.withUnsafeBufferPointer { pa in
        b.data.withUnsafeBufferPointer { pb in
            c.data.withUnsafeMutableBufferPointer { pc in
                cblas_sgemm(CblasRowMajor, transposeA ? CblasTrans : CblasNoTrans, transposeB ? CblasTrans : CblasNoTrans,
                            Int32(m), Int32(n), Int32(k), alpha, pa.baseAddress, Int32(a.cols), pb.baseAddress, Int32(b.cols),
                            beta, pc.baseAddress, Int32(c.cols))
            }
        }
    }
}

/// op(A)·op(B) as a new matrix.
public func matmul(_ a: Matrix, transposeA: Bool = false, _ b: Matrix, transposeB: Bool = false) -> Matrix {
    var c = Matrix(rows: transposeA ? a.cols : a.rows, cols: transposeB ? b.rows : b.cols)
    gemm(a, transposeA: transposeA, b, transposeB: transposeB, into: &c)
    return c
}

/// A trainable tensor and its gradient (accumulated by backward passes until `zeroGrad`).
public final class Parameter {
    public let name: String
    public var value: Matrix
    public var grad: Matrix

    public init(_ name: String, _ value: Matrix) {
        self.name = name
        self.value = value
        grad = Matrix(rows: value.rows, cols: value.cols)
    }

    public func zeroGrad() { for i in grad.data.indices { grad.data[i] = 0 } }

    /// A zero matrix of the parameter's shape: where a thread's workspace adds up its gradient.
    public var zeroGradient: Matrix { Matrix(rows: value.rows, cols: value.cols) }

    /// Adds the threads' gradients (one list per workspace, in `parameters` order) into the
    /// parameters' `grad`, workspace by workspace in the order given: a fixed order keeps training
    /// deterministic.
    public static func accumulate(_ workspaces: [[Matrix]], into parameters: [Parameter]) {
        for gradients in workspaces {
            precondition(gradients.count == parameters.count, "a workspace holds \(gradients.count) gradients for \(parameters.count) parameters")
            for (p, g) in zip(parameters, gradients) { p.grad += g }
        }
    }
}

/// A layer's per-thread workspace that adds up the gradients of the layer's parameters (in the
/// order of its `parameters`).
public protocol GradientWorkspace {
    var gradients: [Matrix] { get }
    mutating func zeroGradients()
}

extension Matrix {
    /// Every value set to 0, the shape kept.
    public mutating func setZero() {
        data.withUnsafeMutableBufferPointer { p in for i in p.indices { p[i] = 0 } }
    }
}

/// Deterministic initialisation (SplitMix64), so training is reproducible for a seed.
public struct Initializer {
    var state: UInt64
    public init(seed: UInt64) { state = seed }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    public mutating func uniform(_ limit: Float) -> Float { (Float(next() >> 40) / Float(1 << 24) * 2 - 1) * limit }

    /// Glorot-uniform weights for a fanIn × fanOut matrix.
    public mutating func glorot(_ fanIn: Int, _ fanOut: Int) -> Matrix {
        let limit = (6 / Float(fanIn + fanOut)).squareRoot()
        return Matrix(rows: fanIn, cols: fanOut, data: (0..<(fanIn * fanOut)).map { _ in uniform(limit) })
    }
}
