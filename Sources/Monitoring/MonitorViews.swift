/// What the dashboard, `streamcast monitor` and the Prometheus gauges read from the monitor.
extension ForecastMonitor {
    public struct ScopeView: Sendable, Codable {
        public var scope: String
        public var quantiles: [Double]
        /// One point per period of the rolling window, oldest first.
        public var periods: [Int64]
        public var coverage: [[Double]]
        public var wql: [Double]
        public var bias: [Double]
        public var volatility: [Double]
        /// The same over the whole window; coverage counts ties by the level's share
        /// (`CountCoverage`), between the shares strictly below and at or below the quantile.
        public var windowCoverage: [Double]
        public var windowCoverageBelow: [Double]
        public var windowCoverageAtOrBelow: [Double]
        public var windowWQL: Double
        public var windowBias: Double
        public var windowVolatility: Double
        public var cells: Double
        public var activeAlerts: [String]
    }

    public struct ProductView: Sendable, Codable {
        public var product: String
        public var bias: Double
        public var coverage: [Double]
        public var alarmed: Bool
        public var observed: Int
        /// Product view only: recent periods with their actual and one-step quantiles, and the
        /// current forecast (FCT `fct`, horizons 1…H).
        public var periods: [Int64]? = nil
        public var actuals: [Float]? = nil
        public var pastQuantiles: [[Float]]? = nil
        public var fct: Int64? = nil
        public var forecast: [[Float]]? = nil
    }

    /// A scope's rolling metrics ("global" or "category:NAME"); nil before anything was scored.
    public func view(scope key: String = "global") -> ScopeView? {
        lock.lock()
        defer { lock.unlock() }
        guard let s = scopes[key] else { return nil }
        let q = config.quantiles
        let periods = s.buckets.keys.filter { $0 > latestPeriod - Int64(config.window) }.sorted()
        let buckets = periods.map { s.buckets[$0]! }
        func wql(_ b: [Bucket]) -> Double {
            let absY = b.reduce(0) { $0 + $1.absY }
            return q.indices.map { j in 2 * b.reduce(0) { $0 + $1.loss[j] } / max(absY, 1e-9) }.reduce(0, +) / Double(q.count)
        }
        let cells = buckets.reduce(0) { $0 + $1.cells }
        let meanY = buckets.reduce(0) { $0 + $1.absY } / max(cells, 1)
        return ScopeView(
            scope: key, quantiles: q, periods: periods,
            coverage: buckets.map { b in q.indices.map { Bucket.coverage([b], $0, level: q[$0]) } },
            wql: buckets.map { wql([$0]) },
            bias: buckets.map { $0.signed / max($0.cells, 1) },
            volatility: buckets.map { ($0.moves / max($0.moveCells, 1)) / max($0.absY / max($0.cells, 1), 1e-9) },
            windowCoverage: q.indices.map { Bucket.coverage(buckets, $0, level: q[$0]) },
            windowCoverageBelow: q.indices.map { j in buckets.reduce(0) { $0 + $1.below[j] } / max(cells, 1) },
            windowCoverageAtOrBelow: q.indices.map { j in buckets.reduce(0) { $0 + $1.hits[j] } / max(cells, 1) },
            windowWQL: wql(buckets), windowBias: buckets.reduce(0) { $0 + $1.signed } / max(cells, 1),
            windowVolatility: (buckets.reduce(0) { $0 + $1.moves } / max(buckets.reduce(0) { $0 + $1.moveCells }, 1)) / max(meanY, 1e-9),
            cells: cells, activeAlerts: s.alarmed.sorted())
    }

    /// Every open alert: the fleet's and categories' as raised (value, expected, period), then up
    /// to `products` drifting products (their bias now, the period their alert opened and its
    /// direction).
    public func openAlerts(products n: Int = 50) -> [DriftAlert] {
        let drifting = topDrifting(n).filter(\.alarmed)
        lock.lock()
        defer { lock.unlock() }
        let scoped = scopes.keys.sorted().flatMap { key in scopes[key]!.open.values.sorted { $0.metric < $1.metric } }
        return scoped + drifting.map {
            let s = products.scalars[products.row(of: $0.product)!]
            return DriftAlert(scope: "product", key: $0.product, metric: "bias", value: $0.bias, expected: 0, detector: "page_hinkley",
                              period: s.alarmedSince == .min ? s.fct : s.alarmedSince, status: .alert,
                              direction: [nil, PageHinkley.Change.increase.rawValue, PageHinkley.Change.decrease.rawValue][Int(min(s.alarmDirection, 2))])
        }
    }

    /// Scopes that have data: "global" and "category:…".
    public var scopeKeys: [String] {
        lock.lock()
        defer { lock.unlock() }
        return scopes.keys.sorted()
    }

    /// Products whose scaled error has drifted furthest from zero (alarmed ones first).
    /// One pass over the rows keeping the best n: the dashboard asks while the stream runs, and
    /// the consume thread waits for this lock (at 1M products a view per product and a full sort
    /// held it 1.4 s; this takes 40–60 ms, `bench refresh --products 1000000`).
    public func topDrifting(_ n: Int) -> [ProductView] {
        lock.lock()
        defer { lock.unlock() }
        guard n > 0 else { return [] }
        // Ranked by (alarmed, |bias|, then product id ascending): `before(a, b)` = a ranks higher.
        func before(_ a: (id: String, row: Int), _ b: (id: String, row: Int)) -> Bool {
            let x = products.scalars[a.row], y = products.scalars[b.row]
            if x.alarmed != y.alarmed { return x.alarmed }
            if abs(x.bias) != abs(y.bias) { return abs(x.bias) > abs(y.bias) }
            return a.id < b.id
        }
        var best: [(id: String, row: Int)] = []  // sorted, at most n
        for (id, r) in products.rows where products.scalars[Int(r)].observed > 0 {
            let candidate = (id: id, row: Int(r))
            if best.count == n, let last = best.last, !before(candidate, last) { continue }
            let at = best.firstIndex { before(candidate, $0) } ?? best.count
            best.insert(candidate, at: at)
            if best.count > n { best.removeLast() }
        }
        return best.map { summary(of: $0.id, row: $0.row) }
    }

    public func product(_ id: String) -> ProductView? {
        lock.lock()
        defer { lock.unlock() }
        guard let row = products.row(of: id) else { return nil }
        var view = summary(of: id, row: row)
        let past = products.history(row), s = products.scalars[row], q = config.quantiles.count
        view.periods = past.map(\.period)
        view.actuals = past.map(\.actual)
        view.pastQuantiles = past.map(\.quantiles)
        view.fct = s.fct
        view.forecast = (0..<Int(s.horizons)).map { k in (0..<q).map { products.forecast(row, horizon: k, quantile: $0) } }
        return view
    }

    /// Caller holds the lock.
    private func summary(of id: String, row: Int) -> ProductView {
        let s = products.scalars[row], q = config.quantiles.count
        // Stored as Float; rounded so the JSON says 0.5145, not 0.5145077705383301.
        let coverage = (0..<q).map { j in
            CountCoverage.coverage(below: Double(products.coverageBelow[row * q + j]), atOrBelow: Double(products.coverage[row * q + j]),
                                   level: config.quantiles[j])
        }
        return ProductView(product: id, bias: s.bias, coverage: coverage.map { ($0 * 1e4).rounded() / 1e4 },
                           alarmed: s.alarmed, observed: Int(s.observed))
    }
}
