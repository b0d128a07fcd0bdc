import Foundation

/// A product's monitor state as bytes, checkpointed with its window, so a restart or a partition
/// moving to another instance keeps the product's detector, coverage EWMAs, last forecast and
/// history, and its alerts stay a function of the log.
extension ForecastMonitor {
    /// 2: since when and which way an open alert points, after the history (1 lacks them).
    /// 3: then the ahead ring (the longest-horizon rows waiting for their periods to close).
    static let productStateVersion: UInt8 = 3

    /// The product's state (empty: the monitor has not seen it).
    public func productState(_ id: String) -> [UInt8] {
        lock.lock()
        defer { lock.unlock() }
        guard let row = products.row(of: id) else { return [] }
        let s = products.scalars[row], q = config.quantiles.count
        var w = StateWriter()
        w.u8(Self.productStateVersion)
        w.u8(UInt8(q))
        w.i64(s.fct)
        for v in [s.ph.count, s.ph.mean, s.ph.up, s.ph.upMin, s.ph.down, s.ph.downMax, s.bias] { w.f64(v) }
        w.i64(Int64(s.calm)); w.i64(Int64(s.observed))
        w.u8(s.alarmed ? 1 : 0)
        w.u8(s.horizons)
        for j in 0..<q { w.f32(products.coverage[row * q + j]); w.f32(products.coverageBelow[row * q + j]) }
        for k in 0..<Int(s.horizons) { for j in 0..<q { w.f32(products.forecast(row, horizon: k, quantile: j)) } }
        let history = products.history(row)
        w.u8(UInt8(history.count))
        for h in history {
            w.i64(h.period)
            w.f32(h.actual)
            for v in h.quantiles { w.f32(v) }
        }
        w.i64(s.alarmedSince)
        w.u8(s.alarmDirection)
        let ahead = products.aheadSlots(row)
        w.u8(UInt8(ahead.count))
        for (target, values) in ahead {
            w.i64(Int64(target))
            for v in values { w.f32(v) }
        }
        return w.bytes
    }

    /// Restores a product's state from `productState` (version 1, 2 or 3; before 3 the ahead ring
    /// starts empty, so the detector resumes H periods later); bytes of another quantile count or
    /// version are ignored (the product starts afresh, as before it was checkpointed).
    public func restoreProduct(_ id: String, from bytes: [UInt8]) {
        guard !bytes.isEmpty else { return }
        lock.lock()
        defer { lock.unlock() }
        var r = StateReader(bytes)
        let q = config.quantiles.count
        guard let version = r.u8(), (1...3).contains(version), r.u8() == UInt8(q) else { return }
        let row = products.row(for: id, nominal: config.quantiles)
        var s = products.scalars[row]
        guard let fct = r.i64(), let count = r.f64(), let mean = r.f64(), let up = r.f64(), let upMin = r.f64(), let down = r.f64(),
              let downMax = r.f64(), let bias = r.f64(), let calm = r.i64(), let observed = r.i64(), let alarmed = r.u8(),
              let horizons = r.u8() else { return }
        s.ph.count = count; s.ph.mean = mean; s.ph.up = up; s.ph.upMin = upMin; s.ph.down = down; s.ph.downMax = downMax
        s.bias = bias
        s.calm = Int32(calm)
        s.observed = Int32(observed)
        s.alarmed = alarmed != 0
        for j in 0..<q {
            guard let c = r.f32(), let below = r.f32() else { return }
            products.coverage[row * q + j] = c
            products.coverageBelow[row * q + j] = below
        }
        var rows: [[Float]] = []
        for _ in 0..<Int(horizons) {
            var values: [Float] = []
            for _ in 0..<q { guard let v = r.f32() else { return }; values.append(v) }
            rows.append(values)
        }
        guard let entries = r.u8() else { return }
        var history: [(Int64, Float, [Float])] = []
        for _ in 0..<Int(entries) {
            guard let period = r.i64(), let actual = r.f32() else { return }
            var values: [Float] = []
            for _ in 0..<q { guard let v = r.f32() else { return }; values.append(v) }
            history.append((period, actual, values))
        }
        s.historyHead = 0
        s.historyCount = 0
        products.scalars[row] = s
        for (period, actual, values) in history {
            products.setForecast(row, fct: fct, rows: [values])  // the row each was scored against
            products.appendHistory(row, period: period, actual: actual)
        }
        products.setForecast(row, fct: fct, rows: rows)
        products.scalars[row].horizons = horizons
        products.scalars[row].fct = fct
        if version >= 2, let since = r.i64(), let direction = r.u8() {
            products.scalars[row].alarmedSince = since
            products.scalars[row].alarmDirection = direction
        }
        guard version >= 3, let capacity = r.u8() else { return }
        for i in 0..<Int(capacity) {
            guard let target = r.i64() else { return }
            var values: [Float] = []
            for _ in 0..<q { guard let v = r.f32() else { return }; values.append(v) }
            products.restoreAheadSlot(row, index: i, capacity: Int(capacity), target: Int32(truncatingIfNeeded: target), values: values)
        }
    }
}

/// Little-endian bytes (Monitoring depends on no other module).
extension ForecastMonitor {
    /// The fleet and category state (rolling buckets, detectors, open alerts) and the period the
    /// scopes were evaluated through, for the checkpoint: instance-level, so it is stored with the
    /// instance's checkpoint, not with any one partition.
    public func scopeState(closedThrough: Int64) -> String {
        lock.lock()
        defer { lock.unlock() }
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        let data = (try? encoder.encode(StoredScopes(scopes: scopes, closedThrough: closedThrough, latestPeriod: latestPeriod))) ?? Data()
        return String(decoding: data, as: UTF8.self)
    }

    /// Restores what `scopeState` stored; returns the period the scopes were evaluated through
    /// (nil: nothing usable stored — the scopes start empty).
    public func restoreScopes(_ text: String) -> Int64? {
        let decoder = JSONDecoder()
        decoder.nonConformingFloatDecodingStrategy = .convertFromString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        guard let stored = try? decoder.decode(StoredScopes.self, from: Data(text.utf8)) else { return nil }
        lock.lock()
        defer { lock.unlock() }
        scopes = stored.scopes
        latestPeriod = max(latestPeriod, stored.latestPeriod)
        return stored.closedThrough
    }

    struct StoredScopes: Codable {
        var scopes: [String: ScopeState]
        var closedThrough: Int64
        var latestPeriod: Int64
    }
}

struct StateWriter {
    private(set) var bytes: [UInt8] = []
    mutating func u8(_ v: UInt8) { bytes.append(v) }
    mutating func i64(_ v: Int64) { withUnsafeBytes(of: v.littleEndian) { bytes.append(contentsOf: $0) } }
    mutating func f64(_ v: Double) { i64(Int64(bitPattern: v.bitPattern)) }
    mutating func f32(_ v: Float) { withUnsafeBytes(of: v.bitPattern.littleEndian) { bytes.append(contentsOf: $0) } }
}

struct StateReader {
    let bytes: [UInt8]
    var at = 0
    init(_ bytes: [UInt8]) { self.bytes = bytes }
    private mutating func le<T: FixedWidthInteger>(_: T.Type) -> T? {
        let n = MemoryLayout<T>.size
        guard at + n <= bytes.count else { return nil }
        var v: T = 0
        for k in 0..<n { v |= T(truncatingIfNeeded: bytes[at + k]) << (8 * k) }
        at += n
        return v
    }
    mutating func u8() -> UInt8? { le(UInt8.self) }
    mutating func i64() -> Int64? { le(Int64.self) }
    mutating func f64() -> Double? { le(UInt64.self).map { Double(bitPattern: $0) } }
    mutating func f32() -> Float? { le(UInt32.self).map { Float(bitPattern: $0) } }
}
