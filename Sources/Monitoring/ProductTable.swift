/// The drift monitor's per-product state, one row per product in a few flat arrays.
///
/// Why flat: at a million products the monitor's state is the largest per-product cost after the
/// windows. Held as one struct per product with five small heap arrays it cost ~965 bytes each
/// (allocator headers and capacity slack included, measured with `bench refresh --no-monitoring`)
/// and its dictionary was rewritten on every update. Here a product costs its dictionary slot plus
/// a fixed-width slice of each column, and an update writes in place.
struct ProductTable {
    /// Fixed-size numbers of one product (stored inline in one array, no per-product allocation).
    struct Scalars {
        /// FCT of the stored forecast (.min: none yet).
        var fct: Int64 = .min
        /// Page-Hinkley on the product's standardized error.
        var ph: PageHinkley
        /// EWMA of the scaled error (y − P50)/s.
        var bias = 0.0
        var calm: Int32 = 0
        var observed: Int32 = 0
        var alarmed = false
        /// While alarmed: the period the alert opened (.min: unknown, a state from before it was
        /// kept) and which way the error moved (`PageHinkley.Change`: 1 increase, 2 decrease).
        var alarmedSince: Int64 = .min
        var alarmDirection: UInt8 = 0
        /// Horizons held in the stored forecast (0: none).
        var horizons: UInt8 = 0
        /// History ring: next slot and number of entries.
        var historyHead: UInt8 = 0
        var historyCount: UInt8 = 0
    }

    let quantiles: Int
    let historyCapacity: Int
    /// Horizon rows each product's forecast slice holds; widened (rarely) when a longer forecast arrives.
    private(set) var maxHorizons: Int
    private let detector: PageHinkley

    private(set) var rows: [String: Int32] = [:]
    var scalars: [Scalars] = []
    /// Latest forecast: `maxHorizons` × `quantiles` floats per product (row k = horizon k + 1).
    private(set) var forecast: [Float] = []
    /// EWMAs of 1{y ≤ q} and 1{y < q} per quantile (display values, so Float; read together as
    /// `CountCoverage` says).
    var coverage: [Float] = []
    var coverageBelow: [Float] = []
    /// History ring: the period and (actual, Q one-step quantiles) of the last periods.
    private var historyPeriods: [Int64] = []
    private var historyValues: [Float] = []
    /// Ahead ring: per product, the longest-horizon row of each of the last H forecasts, in slot
    /// target mod H, tagged with its target period (truncated to 32 bits), so that when a period
    /// closes the forecast made H periods before it can be scored. H is the forecasts' length.
    private(set) var aheadCapacity = 0
    private var aheadTargets: [Int32] = []
    private var aheadValues: [Float] = []

    init(quantiles: Int, historyCapacity: Int, maxHorizons: Int, detector: PageHinkley) {
        self.quantiles = quantiles
        self.historyCapacity = min(historyCapacity, Int(UInt8.max))
        self.maxHorizons = max(1, min(maxHorizons, Int(UInt8.max)))
        self.detector = detector
    }

    func row(of id: String) -> Int? { rows[id].map(Int.init) }

    /// The product's row, created (nominal coverage, empty forecast and history) if new.
    mutating func row(for id: String, nominal: [Double]) -> Int {
        if let r = rows[id] { return Int(r) }
        let r = scalars.count
        rows[id] = Int32(r)
        scalars.append(Scalars(ph: detector))
        forecast.append(contentsOf: repeatElement(0, count: maxHorizons * quantiles))
        coverage.append(contentsOf: nominal.map(Float.init))
        coverageBelow.append(contentsOf: nominal.map(Float.init))
        historyPeriods.append(contentsOf: repeatElement(0, count: historyCapacity))
        historyValues.append(contentsOf: repeatElement(0, count: historyCapacity * (1 + quantiles)))
        aheadTargets.append(contentsOf: repeatElement(Int32.min, count: aheadCapacity))
        aheadValues.append(contentsOf: repeatElement(0, count: aheadCapacity * quantiles))
        return r
    }

    // MARK: forecast

    /// Quantile j of horizon k + 1 of the stored forecast (k < scalars[row].horizons).
    func forecast(_ row: Int, horizon k: Int, quantile j: Int) -> Float {
        forecast[(row * maxHorizons + k) * quantiles + j]
    }

    /// Stores a forecast (H rows of Q values) in place; rows of another width are skipped.
    mutating func setForecast(_ row: Int, fct: Int64, rows values: [[Float]]) {
        if values.count > maxHorizons { widen(to: values.count) }
        let base = row * maxHorizons * quantiles
        for (k, v) in values.enumerated() where v.count == quantiles {
            for j in 0..<quantiles { forecast[base + k * quantiles + j] = v[j] }
        }
        scalars[row].horizons = UInt8(values.count)
        scalars[row].fct = fct
    }

    /// Re-lays the forecast column out for longer forecasts (a model with more horizons).
    private mutating func widen(to horizons: Int) {
        let wider = min(horizons, Int(UInt8.max)), q = quantiles
        var next = [Float](repeating: 0, count: scalars.count * wider * q)
        for r in 0..<scalars.count {
            for i in 0..<(maxHorizons * q) { next[r * wider * q + i] = forecast[r * maxHorizons * q + i] }
        }
        forecast = next
        maxHorizons = wider
    }

    // MARK: ahead ring

    /// Keeps `values`, the quantiles of a forecast `horizons` periods ahead of its FCT, for its
    /// target period. Forecasts of another length (a model with another H) empty every ring first.
    mutating func setAhead(_ row: Int, target: Int64, values: [Float], horizons: Int) {
        guard horizons > 0, values.count == quantiles else { return }
        if horizons != aheadCapacity { resetAhead(capacity: horizons) }
        writeAhead(row * aheadCapacity + Int(target.modulo(aheadCapacity)), tag: Int32(truncatingIfNeeded: target), values: values)
    }

    /// The quantiles forecast `aheadCapacity` periods before for `target`, if kept.
    func ahead(_ row: Int, target: Int64) -> [Float]? {
        guard aheadCapacity > 0 else { return nil }
        let slot = row * aheadCapacity + Int(target.modulo(aheadCapacity))
        guard aheadTargets[slot] == Int32(truncatingIfNeeded: target) else { return nil }
        return Array(aheadValues[(slot * quantiles)..<((slot + 1) * quantiles)])
    }

    /// Every slot of a product's ahead ring: (target tag, quantiles), slot order.
    func aheadSlots(_ row: Int) -> [(Int32, [Float])] {
        (0..<aheadCapacity).map { i in
            let slot = row * aheadCapacity + i
            return (aheadTargets[slot], Array(aheadValues[(slot * quantiles)..<((slot + 1) * quantiles)]))
        }
    }

    /// Restores one slot as `aheadSlots` gave it (ignored when the capacities differ).
    mutating func restoreAheadSlot(_ row: Int, index i: Int, capacity: Int, target: Int32, values: [Float]) {
        if aheadCapacity == 0 { resetAhead(capacity: capacity) }
        guard capacity == aheadCapacity, i < capacity, values.count == quantiles else { return }
        writeAhead(row * aheadCapacity + i, tag: target, values: values)
    }

    private mutating func writeAhead(_ slot: Int, tag: Int32, values: [Float]) {
        aheadTargets[slot] = tag
        for j in 0..<quantiles { aheadValues[slot * quantiles + j] = values[j] }
    }

    private mutating func resetAhead(capacity: Int) {
        aheadCapacity = capacity
        aheadTargets = [Int32](repeating: .min, count: scalars.count * capacity)
        aheadValues = [Float](repeating: 0, count: scalars.count * capacity * quantiles)
    }

    // MARK: history ring

    /// Appends (period, actual, one-step quantiles = the stored forecast's first row).
    mutating func appendHistory(_ row: Int, period: Int64, actual: Float) {
        guard historyCapacity > 0 else { return }
        let slot = row * historyCapacity + Int(scalars[row].historyHead), width = 1 + quantiles
        historyPeriods[slot] = period
        historyValues[slot * width] = actual
        for j in 0..<quantiles { historyValues[slot * width + 1 + j] = forecast(row, horizon: 0, quantile: j) }
        scalars[row].historyHead = UInt8((Int(scalars[row].historyHead) + 1) % historyCapacity)
        scalars[row].historyCount = UInt8(min(Int(scalars[row].historyCount) + 1, historyCapacity))
    }

    /// The product's history, oldest first.
    func history(_ row: Int) -> [(period: Int64, actual: Float, quantiles: [Float])] {
        let s = scalars[row], count = Int(s.historyCount), width = 1 + quantiles
        return (0..<count).map { i in
            let slot = row * historyCapacity + (Int(s.historyHead) - count + i + historyCapacity) % historyCapacity
            return (historyPeriods[slot], historyValues[slot * width],
                    Array(historyValues[(slot * width + 1)..<((slot + 1) * width)]))
        }
    }
}

extension Int64 {
    /// The non-negative remainder (periods before 1970 are negative).
    func modulo(_ n: Int) -> Int64 { let m = self % Int64(n); return m < 0 ? m + Int64(n) : m }
}
