import Foundation

/// Online forecast monitoring: as each period's actual becomes final, the forecast made
/// one period earlier is scored — globally, per category and per product — and drift detectors
/// run on those streams. Bounded memory: per product a few numbers; per scope one bucket per
/// period of the rolling window.
///
/// Coverage, loss and bias score the one-step-ahead forecast (the freshest of every period); the
/// product detector the forecast made H periods before. Per product that is O(H · Q) numbers.
/// Unchecked Sendable: every read and write of its state takes `lock` (the pipeline writes, the HTTP thread reads).
public final class ForecastMonitor: @unchecked Sendable {
    public struct Config: Sendable {
        public var quantiles: [Double] = [0.1, 0.5, 0.9]
        /// Rolling window in periods (scopes), and the EWMA span per product.
        public var window = 28
        /// Page-Hinkley on the error in units of the forecast's spread (per product) and on the
        /// mean scaled error (y − P50)/s (per scope): tolerated change δ, alarm threshold λ.
        /// Chosen on a stationary simulated log and a drifted one (docs/monitoring.md): about 0.6
        /// alerts per 1,000 product-periods with a trained model where nothing drifts. The error
        /// of sparse counts is skewed (rare large positive errors), so δ is larger than the 0.5 a
        /// normal error would take.
        public var delta = 0.75
        public var lambda = 12.0
        /// The same for a scope's per-period mean scaled error (an average over many products,
        /// so far less noisy).
        public var scopeDelta = 0.05
        public var scopeLambda = 1.0
        public var coverage = CoverageTest()
        /// Scored cells a scope's window needs before its coverage is tested.
        public var minCells = 200.0
        /// Periods a metric must be back to normal before a recovery is announced.
        public var recoveryPeriods = 3
        /// Periods of (actual, one-step quantiles) kept per product for the dashboard's product
        /// view (4 floats and a period each; at most 255).
        public var productHistory = 12
        public init() {}
    }

    public let config: Config
    /// The consume thread writes, the HTTP thread reads.
    let lock = NSLock()
    /// Per product: a row of flat columns (ProductTable.swift), fixed-size once created, so the
    /// monitor's memory stops growing once every product has been seen.
    var products: ProductTable
    var scopes: [String: ScopeState] = [:]
    /// The latest period any product closed.
    public internal(set) var latestPeriod: Int64 = .min

    /// Φ⁻¹(q_max) − Φ⁻¹(q_min): how many normal sds the outer quantiles span (2.563 for 0.1/0.9).
    let spreadUnits: Double

    public init(config: Config) {
        self.config = config
        let lo = config.quantiles.first ?? 0.1, hi = config.quantiles.last ?? 0.9
        spreadUnits = max(Self.normalQuantile(hi) - Self.normalQuantile(lo), 0.1)
        products = ProductTable(quantiles: config.quantiles.count, historyCapacity: config.productHistory, maxHorizons: 1,
                                detector: PageHinkley(delta: config.delta, lambda: config.lambda))
    }

    /// Φ⁻¹(p) by bisection on erf (only used once, at start).
    static func normalQuantile(_ p: Double) -> Double {
        var a = -10.0, b = 10.0
        for _ in 0..<100 {
            let m = (a + b) / 2
            if 0.5 * (1 + erf(m / 2.0.squareRoot())) < p { a = m } else { b = m }
        }
        return (a + b) / 2
    }

    /// Sums over one period of a scope.
    /// `hits`: actuals at or below each quantile; `below`: strictly below (`CountCoverage`).
    struct Bucket: Codable {
        var cells = 0.0, absY = 0.0, signed = 0.0, moves = 0.0, moveCells = 0.0
        var hits: [Double], below: [Double], loss: [Double]
        init(q: Int) {
            hits = Array(repeating: 0, count: q)
            below = hits
            loss = hits
        }

        mutating func add(_ b: Bucket) {
            cells += b.cells; absY += b.absY; signed += b.signed
            moves += b.moves; moveCells += b.moveCells
            for j in hits.indices { hits[j] += b.hits[j]; below[j] += b.below[j]; loss[j] += b.loss[j] }
        }

        /// Coverage of quantile j over these buckets, ties counted as `CountCoverage` says.
        static func coverage<S: Sequence>(_ buckets: S, _ j: Int, level: Double) -> Double where S.Element == Bucket {
            var cells = 0.0, hits = 0.0, below = 0.0
            for b in buckets { cells += b.cells; hits += b.hits[j]; below += b.below[j] }
            guard cells > 0 else { return level }
            return CountCoverage.coverage(below: below / cells, atOrBelow: hits / cells, level: level)
        }
    }

    struct ScopeState: Codable {
        var buckets: [Int64: Bucket] = [:]
        var ph: PageHinkley
        var alarmed: Set<String> = []
        var calm: [String: Int] = [:]
        var evaluatedThrough: Int64 = .min
        /// The alert that opened each alarmed metric (what, how far off, since when).
        var open: [String: DriftAlert] = [:]
    }

    /// Product `product` (of `category`) closed period `p` with actual `y`; `scale` is its typical
    /// level (1 + recent mean) and `rows` the forecast it just got (H rows of Q values, FCT p).
    public func observe(product: String, category: String?, period p: Int64, actual y: Double, scale: Double,
                        forecast rows: [[Float]]) -> [DriftAlert] {
        lock.lock()
        defer { lock.unlock() }
        var alerts: [DriftAlert] = []
        latestPeriod = max(latestPeriod, p)
        let q = config.quantiles
        let row = products.row(for: product, nominal: q)
        var state = products.scalars[row]
        let mid = q.firstIndex(of: 0.5) ?? q.count / 2
        // The previous forecast's first row: the one-step-ahead forecast of period p.
        let scored = state.fct == p - 1 && state.horizons > 0
        func previous(_ k: Int, _ j: Int) -> Double { Double(products.forecast(row, horizon: k, quantile: j)) }
        if scored {
            let median = previous(0, mid)
            let z = max(-5, min(5, (y - median) / max(scale, 1e-9)))
            let a = 2 / (Double(config.window) + 1)
            state.bias += a * (z - state.bias)
            var bucket = Bucket(q: q.count)
            bucket.cells = 1
            bucket.absY = abs(y)
            bucket.signed = z
            for (j, level) in q.enumerated() {
                let f = previous(0, j)
                // A count is a tie with the count ⌊f⌋ (a network's P10 of 0.02 is the count 0).
                let hit = y <= f ? 1.0 : 0.0, under = y < (y == y.rounded(.down) ? f.rounded(.down) : f) ? 1.0 : 0.0
                let c = row * q.count + j
                products.coverage[c] += Float(a * (hit - Double(products.coverage[c])))
                products.coverageBelow[c] += Float(a * (under - Double(products.coverageBelow[c])))
                bucket.hits[j] = hit
                bucket.below[j] = under
                bucket.loss[j] = max(level * (y - f), (level - 1) * (y - f))
            }
            // Volatility: how far this forecast moved each target the previous one also covered.
            for k in 0..<min(rows.count, Int(state.horizons) - 1) {
                bucket.moves += abs(Double(rows[k][mid]) - previous(k + 1, mid))
                bucket.moveCells += 1
            }
            add(bucket, to: "global", period: p)
            if let category { add(bucket, to: "category:" + category, period: p) }
            state.observed += 1
            if let ahead = products.ahead(row, target: p),
               let alert = detectDrift(&state, product: product, period: p, standardized: standardized(y, ahead)) {
                alerts.append(alert)
            }
        }
        products.scalars[row] = state
        if scored { products.appendHistory(row, period: p, actual: Float(y)) }
        // The new forecast replaces the old in the same storage; its longest horizon waits in the
        // ahead ring for its period to close.
        products.setForecast(row, fct: p, rows: rows)
        if let last = rows.last { products.setAhead(row, target: p + Int64(rows.count), values: last, horizons: rows.count) }
        return alerts
    }

    /// The error of a forecast (quantiles in the model's order) in units of its own spread, its
    /// outer quantiles read as a normal's: a calibrated forecast gives sd ≈ 1 for slow and fast
    /// movers alike, so one threshold fits every product. The floor keeps near-zero spreads of
    /// intermittent products from turning one sale into an alarm; the clip keeps one outlier from
    /// deciding alone.
    private func standardized(_ y: Double, _ f: [Float]) -> Double {
        let q = config.quantiles, mid = q.firstIndex(of: 0.5) ?? q.count / 2
        let spread = max(0.5, Double(f[q.count - 1] - f[0]) / spreadUnits)
        return max(-5, min(5, (y - Double(f[mid])) / spread))
    }

    /// Product-level drift: Page-Hinkley on the error, in units of its spread, of the forecast
    /// made H periods before the period (the longest horizon: what orders are placed on, and what
    /// the model had no chance yet to correct from the shift's first actuals); the alert when it
    /// opens, the recovery once that error and the one-step bias have stayed small for
    /// `recoveryPeriods`.
    private func detectDrift(_ state: inout ProductTable.Scalars, product: String, period p: Int64, standardized: Double) -> DriftAlert? {
        if let change = state.ph.update(standardized) {
            defer { state.alarmed = true; state.calm = 0 }
            guard !state.alarmed else { return nil }
            state.alarmedSince = p
            state.alarmDirection = change == .increase ? 1 : 2
            return DriftAlert(scope: "product", key: product, metric: "bias", value: state.bias, expected: 0,
                              detector: "page_hinkley", period: p, status: .alert, direction: change.rawValue)
        }
        guard state.alarmed else { return nil }
        // Calm once the forecasts the alarm was about (H periods ahead) are within a spread of
        // the actuals again and the one-step bias is small.
        state.calm = abs(standardized) < 1 && abs(state.bias) < 0.5 ? state.calm + 1 : 0
        guard state.calm >= config.recoveryPeriods else { return nil }
        // The detector starts again from the recovered errors: their fall back to normal is the
        // end of the episode, not a change to alarm on.
        state.ph = PageHinkley(delta: state.ph.delta, lambda: state.ph.lambda)
        state.alarmed = false
        state.alarmedSince = .min
        state.alarmDirection = 0
        return DriftAlert(scope: "product", key: product, metric: "bias", value: state.bias, expected: 0, detector: "page_hinkley", period: p, status: .recovered)
    }

    private func add(_ b: Bucket, to key: String, period p: Int64) {
        // Every period is kept until the scopes are evaluated through it (closeScopes), however far
        // ahead another partition has read: which periods count cannot depend on how partitions
        // interleave. A period already evaluated is not reopened.
        // In place through `values[index]`: `scopes[key]!` would copy the scope out and back per call.
        let at = scopes.index(forKey: key) ?? {
            scopes[key] = ScopeState(ph: PageHinkley(delta: config.scopeDelta, lambda: config.scopeLambda))
            return scopes.index(forKey: key)!
        }()
        guard p > scopes.values[at].evaluatedThrough else { return }
        scopes.values[at].buckets[p, default: Bucket(q: config.quantiles.count)].add(b)
    }

    /// Every product that will be scored for periods up to `p` has been: the scopes (fleet,
    /// categories) run their detectors over them. The caller says when — the pipeline once every
    /// partition has closed `p` — so scope alerts depend on the periods, not on the order in which
    /// partitions happened to be read.
    public func closeScopes(through p: Int64) -> [DriftAlert] {
        lock.lock()
        defer { lock.unlock() }
        return scopes.keys.sorted().flatMap { evaluateScope($0, through: p) }
    }

    /// Runs a scope's detectors over its periods up to `through`, then drops buckets older than
    /// the window.
    private func evaluateScope(_ key: String, through last: Int64) -> [DriftAlert] {
        guard var scope = scopes[key] else { return [] }
        var alerts: [DriftAlert] = []
        let (kind, name) = key == "global" ? ("global", "all") : ("category", String(key.dropFirst("category:".count)))
        for p in scope.buckets.keys.sorted() where p > scope.evaluatedThrough && p <= last {
            let b = scope.buckets[p]!
            // Bias: Page-Hinkley on the period's mean scaled error.
            if let change = scope.ph.update(b.signed / max(b.cells, 1)), !scope.alarmed.contains("bias") {
                scope.alarmed.insert("bias")
                alerts.append(DriftAlert(scope: kind, key: name, metric: "bias", value: b.signed / max(b.cells, 1), expected: 0,
                                         detector: "page_hinkley", period: p, status: .alert, direction: change.rawValue))
            } else if scope.alarmed.contains("bias") {
                let calm = abs(b.signed / max(b.cells, 1)) < 0.25 ? (scope.calm["bias"] ?? 0) + 1 : 0
                scope.calm["bias"] = calm
                if calm >= config.recoveryPeriods {
                    scope.alarmed.remove("bias")
                    alerts.append(DriftAlert(scope: kind, key: name, metric: "bias", value: b.signed / max(b.cells, 1), expected: 0,
                                             detector: "page_hinkley", period: p, status: .recovered))
                }
            }
            // Coverage of each quantile over the rolling window ending at p.
            let window = scope.buckets.filter { $0.key > p - Int64(config.window) && $0.key <= p }.values
            let cells = window.reduce(0) { $0 + $1.cells }
            for (j, level) in config.quantiles.enumerated() {
                let metric = "coverage[\(level)]"
                let coverage = Bucket.coverage(window, j, level: level)
                let off = cells >= config.minCells && config.coverage.isOff(coverage: coverage, cells: cells, nominal: level)
                // Hysteresis: recovered only when well inside the margin, so a metric hovering at
                // the edge does not flap.
                let back = cells >= config.minCells && abs(coverage - level) <= config.coverage.margin / 2
                if off && !scope.alarmed.contains(metric) {
                    scope.alarmed.insert(metric)
                    alerts.append(DriftAlert(scope: kind, key: name, metric: metric, value: coverage, expected: level,
                                             detector: "coverage_z", period: p, status: .alert))
                } else if back && scope.alarmed.contains(metric) {
                    scope.alarmed.remove(metric)
                    alerts.append(DriftAlert(scope: kind, key: name, metric: metric, value: coverage, expected: level,
                                             detector: "coverage_z", period: p, status: .recovered))
                }
            }
            scope.evaluatedThrough = p
        }
        for a in alerts { scope.open[a.metric] = a.status == .alert ? a : nil }
        scope.buckets = scope.buckets.filter { $0.key > last - Int64(config.window) }
        scopes[key] = scope
        return alerts
    }
}

/// One message on the `forecast-drift` topic (docs/monitoring.md has the schema).
public struct DriftAlert: Sendable, Codable, Equatable {
    public enum Status: String, Sendable, Codable { case alert, recovered }
    public var scope: String
    public var key: String
    public var metric: String
    public var value: Double
    public var expected: Double
    public var detector: String
    /// Period index; the sink writes its start time.
    public var period: Int64
    public var status: Status
    public var direction: String? = nil
}
