import CXGBoost

/// What XGBoost said went wrong (its last error message), with the call that failed.
public struct BoostingError: Error, CustomStringConvertible {
    public let description: String
    public init(_ d: String) { description = d }
}

@inline(__always) func check(_ rc: Int32, _ call: String) throws {
    guard rc == 0 else { throw BoostingError("\(call): \(String(cString: XGBGetLastError()))") }
}

/// Rows of features as XGBoost reads them: dense, row-major, NaN for a missing value.
public final class FeatureRows {
    let handle: DMatrixHandle
    public let rows: Int, columns: Int

    public init(_ values: [Float], columns: Int) throws {
        precondition(columns > 0 && values.count % columns == 0, "values must fill whole rows")
        let n = values.count / columns
        var h: DMatrixHandle?
        try values.withUnsafeBufferPointer {
            try check(XGDMatrixCreateFromMat($0.baseAddress, bst_ulong(n), bst_ulong(columns), .nan, &h), "XGDMatrixCreateFromMat")
        }
        handle = h!
        rows = n
        self.columns = columns
    }

    deinit { XGDMatrixFree(handle) }
}

/// One gradient-boosted tree ensemble behind XGBoost's C API: grown one round at a time from
/// gradients the caller computes (its own loss), read back as raw scores, saved as bytes.
/// Unchecked Sendable: XGBoost's handle; every caller serialises its calls (the trainer owns its
/// boosters, the forecaster predicts under its lock).
public final class Booster: @unchecked Sendable {
    let handle: BoosterHandle

    /// A booster to be grown on `training` (XGBoost caches its predictions for those rows).
    public init(training: FeatureRows, parameters: [(String, String)]) throws {
        var h: BoosterHandle?
        var cache: DMatrixHandle? = training.handle
        try check(XGBoosterCreate(&cache, 1, &h), "XGBoosterCreate")
        handle = h!
        for (name, value) in parameters { try check(XGBoosterSetParam(handle, name, value), "XGBoosterSetParam(\(name))") }
    }

    /// A booster from `bytes` (what `bytes` of a trained one returned).
    public init(bytes: [UInt8]) throws {
        var h: BoosterHandle?
        try check(XGBoosterCreate(nil, 0, &h), "XGBoosterCreate")
        handle = h!
        try bytes.withUnsafeBytes { try check(XGBoosterLoadModelFromBuffer(handle, $0.baseAddress, bst_ulong($0.count)), "XGBoosterLoadModelFromBuffer") }
        try check(XGBoosterSetParam(handle, "nthread", "1"), "XGBoosterSetParam(nthread)")
    }

    private init(handle: BoosterHandle) { self.handle = handle }

    /// Threads a prediction may use (rows are scored independently: the scores do not depend on it).
    public func use(threads: Int) throws {
        try check(XGBoosterSetParam(handle, "nthread", String(max(1, threads))), "XGBoosterSetParam(nthread)")
    }

    deinit { XGBoosterFree(handle) }

    /// Grows one round of trees from the loss's gradient and hessian at every training row.
    public func boost(_ training: FeatureRows, gradient: [Float], hessian: [Float]) throws {
        precondition(gradient.count == training.rows && hessian.count == training.rows)
        var g = gradient, h = hessian
        try check(XGBoosterBoostOneIter(handle, training.handle, &g, &h, bst_ulong(training.rows)), "XGBoosterBoostOneIter")
    }

    /// Raw scores (the base score plus every tree's leaf), one per row. `training`: the rows are
    /// the ones grown on (XGBoost then reads its cache).
    public func predict(_ rows: FeatureRows, training: Bool = false) throws -> [Float] {
        var count: bst_ulong = 0
        var out: UnsafePointer<Float>?
        try check(XGBoosterPredict(handle, rows.handle, 1, 0, training ? 1 : 0, &count, &out), "XGBoosterPredict")
        return Array(UnsafeBufferPointer(start: out, count: Int(count)))
    }

    /// Rounds grown so far.
    public var rounds: Int {
        var n: Int32 = 0
        _ = XGBoosterBoostedRounds(handle, &n)
        return Int(n)
    }

    /// A booster of this one's first `rounds` rounds (early stopping keeps the best prefix).
    public func prefix(rounds: Int) throws -> Booster {
        var out: BoosterHandle?
        try check(XGBoosterSlice(handle, 0, Int32(rounds), 1, &out), "XGBoosterSlice")
        return Booster(handle: out!)
    }

    /// The model as bytes (XGBoost's UBJSON model format: trees and base score, no training state).
    public func bytes() throws -> [UInt8] {
        var count: bst_ulong = 0
        var out: UnsafePointer<CChar>?
        try check(XGBoosterSaveModelToBuffer(handle, "{\"format\": \"ubj\"}", &count, &out), "XGBoosterSaveModelToBuffer")
        return out!.withMemoryRebound(to: UInt8.self, capacity: Int(count)) { Array(UnsafeBufferPointer(start: $0, count: Int(count))) }
    }
}
