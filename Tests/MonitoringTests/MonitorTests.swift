import Monitoring
import Testing

/// A deterministic uniform(0, 1) stream.
struct Uniform {
    var state: UInt64
    mutating func next() -> Double {
        state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
        return Double(state >> 11) / Double(1 << 53)
    }
}

@Suite struct MonitorTests {
    @Test func pageHinkleyIsQuietOnNoiseAndCatchesShiftsBothWays() {
        var u = Uniform(state: 1)
        var ph = PageHinkley(delta: 0.1, lambda: 6)
        var alarms = 0
        for _ in 0..<1000 where ph.update(u.next() * 2 - 1) != nil { alarms += 1 }  // mean 0, sd 0.58
        #expect(alarms == 0)
        var delay = 0
        for i in 1...50 { if ph.update(u.next() * 2 - 1 + 1) == .increase { delay = i; break } }
        #expect(delay > 0 && delay <= 10, "increase detected after \(delay)")
        for _ in 0..<200 { _ = ph.update(u.next() * 2 - 1 + 1) }  // the new normal
        var down = 0
        for i in 1...50 { if ph.update(u.next() * 2 - 1 - 1) == .decrease { down = i; break } }
        #expect(down > 0 && down <= 10, "decrease detected after \(down)")
    }

    @Test func coverageTestNeedsBothSignificanceAndMargin() {
        let t = CoverageTest(z: 4, margin: 0.05)
        #expect(!t.isOff(coverage: 0.92, cells: 100, nominal: 0.9))
        #expect(t.isOff(coverage: 0.82, cells: 10_000, nominal: 0.9))
        #expect(!t.isOff(coverage: 0.904, cells: 10_000, nominal: 0.9), "0.4 points off: significant but not material")
        #expect(t.isOff(coverage: 0.7, cells: 1_000, nominal: 0.9))
    }

    /// The product detector scores the forecast made H periods before each period (the last row
    /// of a forecast), not the one-step row: products whose H-step rows turn far too high from
    /// FCT 26 on (their one-step rows stay right) raise a decrease alert each once periods from 30
    /// close; products the other way round raise none. Through a checkpoint and restore in the
    /// middle of it, the kept H-step rows go along.
    @Test func theDetectorScoresTheForecastMadeHPeriodsBefore() {
        func run(restoreAt: Int64?) -> [DriftAlert] {
            var monitor = ForecastMonitor(config: ForecastMonitor.Config())
            var u = Uniform(state: 3)
            var alerts: [DriftAlert] = []
            for p in Int64(0)..<60 {
                if p == restoreAt {
                    let restored = ForecastMonitor(config: ForecastMonitor.Config())
                    for i in 0..<100 { restored.restoreProduct("P\(i)", from: monitor.productState("P\(i)")) }
                    monitor = restored
                }
                for i in 0..<100 {
                    let right: [Float] = [1, 5, 9], wrong: [Float] = [21, 25, 29]
                    let rows = p < 26 ? [right, right, right, right] : i < 50 ? [right, right, right, wrong] : [wrong, wrong, wrong, right]
                    alerts += monitor.observe(product: "P\(i)", category: nil, period: p, actual: 10 * u.next(), scale: 6, forecast: rows)
                }
            }
            return alerts.filter { $0.scope == "product" && $0.status == .alert }
        }
        let alerts = run(restoreAt: nil)
        #expect(Set(alerts.map(\.key)) == Set((0..<50).map { "P\($0)" }), "\(alerts.map(\.key))")
        #expect(alerts.allSatisfy { $0.direction == "decrease" && $0.period >= 30 && $0.period <= 36 }, "\(alerts.map(\.period))")
        #expect(run(restoreAt: 32) == alerts)
    }

    /// 200 calibrated products (y ~ U(0, 10), forecast quantiles 1/5/9), then a quarter of them
    /// shift to U(10, 20) while their forecasts stay, then their forecasts catch up.
    @Test func monitorScoresAlertsOnceAndRecovers() {
        var config = ForecastMonitor.Config()
        config.window = 20
        let monitor = ForecastMonitor(config: config)
        var u = Uniform(state: 7)
        var alerts: [DriftAlert] = []
        for p in Int64(0)..<100 {
            for i in 0..<200 {
                let shifted = i < 50 && p >= 60
                let y = (shifted ? 10 : 0) + 10 * u.next()
                let caughtUp = shifted && p >= 70
                let row: [Float] = caughtUp ? [11, 15, 19] : [1, 5, 9]
                alerts += monitor.observe(product: "P\(i)", category: i % 2 == 0 ? "even" : "odd", period: p, actual: y, scale: 6,
                                          forecast: Array(repeating: row, count: 4))
            }
            alerts += monitor.closeScopes(through: p)
            if p == 59 {
                // Calibrated stretch: coverage near nominal, few false alarms, none fleet-wide.
                let view = monitor.view()!
                #expect(zip(view.windowCoverage, [0.1, 0.5, 0.9]).allSatisfy { abs($0 - $1) < 0.02 }, "\(view.windowCoverage)")
                #expect(abs(view.windowBias) < 0.05)
                #expect(alerts.filter { $0.scope != "product" }.isEmpty)
                #expect(alerts.count <= 4, "\(alerts.count) product false alarms in 12,000 product-periods")
                alerts.removeAll()
            }
        }
        let raised = alerts.filter { $0.scope == "product" && $0.status == .alert && $0.period >= 60 }
        let shiftedProducts = Set((0..<50).map { "P\($0)" })
        #expect(Set(raised.map(\.key)).intersection(shiftedProducts).count >= 48, "shifted products detected")
        #expect(raised.filter { $0.key == "P0" }.count == 1, "de-duplicated: one alert per episode: \(alerts.filter { $0.key == "P0" })")
        for product in shiftedProducts {
            // Scored on the forecast made H = 4 periods before: stale from period 60 on.
            if let first = raised.first(where: { $0.key == product }) { #expect(first.period <= 67, "\(product) detected at \(first.period)") }
        }
        let falseAlarms = raised.filter { !shiftedProducts.contains($0.key) }.count
        #expect(falseAlarms <= 6, "\(falseAlarms) false alarms in 6,000 unshifted product-periods")
        let recovered = alerts.filter { $0.scope == "product" && $0.status == .recovered }
        #expect(Set(recovered.map(\.key)).intersection(shiftedProducts).count >= 45, "recoveries after the forecasts caught up")
        // Fleet-wide: a quarter of the products under-forecast → the P90 coverage test fires, then recovers.
        let fleet = alerts.filter { $0.scope == "global" && $0.metric == "coverage[0.9]" }
        #expect(fleet.first?.status == .alert && fleet.contains { $0.status == .recovered })
        #expect(monitor.topDrifting(5).count == 5)
    }

    /// Sparse counts (Poisson(0.3): no sale on 74 % of days) forecast with their true quantiles
    /// (P10 = P50 = 0, P90 = 1, as a network's softplus gives them): no coverage alert, and
    /// coverage reads nominal although y ≤ P10 holds on 74 % of the days. A P90 that is too low
    /// for the same demand (0 instead of 1) is flagged.
    @Test func calibratedCountForecastsRaiseNoCoverageAlert() {
        func run(_ row: [Float]) -> (ForecastMonitor, [DriftAlert]) {
            let monitor = ForecastMonitor(config: ForecastMonitor.Config())
            var u = Uniform(state: 11)
            var alerts: [DriftAlert] = []
            for p in Int64(0)..<60 {
                for i in 0..<300 {
                    let v = u.next()
                    let y: Double = v < 0.7408 ? 0 : v < 0.9630 ? 1 : v < 0.9964 ? 2 : 3
                    alerts += monitor.observe(product: "P\(i)", category: "c\(i % 3)", period: p, actual: y, scale: 1.3,
                                              forecast: Array(repeating: row, count: 4))
                }
                alerts += monitor.closeScopes(through: p)
            }
            return (monitor, alerts)
        }
        let (calibrated, quiet) = run([0.01, 0.02, 1.01])
        #expect(quiet.filter { $0.metric.hasPrefix("coverage") }.isEmpty, "\(quiet.filter { $0.metric.hasPrefix("coverage") })")
        let view = calibrated.view()!
        #expect(zip(view.windowCoverage, [0.1, 0.5, 0.9]).allSatisfy { abs($0 - $1) < 0.02 }, "\(view.windowCoverage)")
        #expect(calibrated.view(scope: "category:c1")!.windowCoverage[0] == 0.1)
        let (_, flagged) = run([0.01, 0.02, 0.03])
        let p90 = flagged.filter { $0.scope == "global" && $0.metric == "coverage[0.9]" }
        #expect(p90.first?.status == .alert && abs((p90.first?.value ?? 0) - 0.74) < 0.06, "\(p90)")
    }

    /// A product's state checkpointed mid-stream and restored into a fresh monitor (a restart, or
    /// another instance taking the partition) goes on exactly as the monitor that never stopped:
    /// same product alerts, same product view.
    @Test func productStateRestoredGoesOnExactly() {
        func feed(_ monitor: ForecastMonitor, periods: Range<Int64>, _ u: inout Uniform) -> [DriftAlert] {
            var alerts: [DriftAlert] = []
            for p in periods {
                for i in 0..<20 {
                    let y = (i < 10 && p >= 30 ? 12 : 0) + 10 * u.next()
                    alerts += monitor.observe(product: "P\(i)", category: nil, period: p, actual: y, scale: 6,
                                              forecast: Array(repeating: [1, 5, 9], count: 3))
                }
            }
            return alerts.filter { $0.scope == "product" }
        }
        let whole = ForecastMonitor(config: ForecastMonitor.Config())
        var u1 = Uniform(state: 5)
        _ = feed(whole, periods: 0..<25, &u1)
        let restored = ForecastMonitor(config: ForecastMonitor.Config())
        for i in 0..<20 { restored.restoreProduct("P\(i)", from: whole.productState("P\(i)")) }
        var u2 = u1
        let expected = feed(whole, periods: 25..<60, &u1), got = feed(restored, periods: 25..<60, &u2)
        #expect(!expected.isEmpty && got.map(\.key) == expected.map(\.key) && got.map(\.period) == expected.map(\.period))
        for i in 0..<20 {
            let a = whole.product("P\(i)"), b = restored.product("P\(i)")
            #expect(a?.coverage == b?.coverage && a?.bias == b?.bias && a?.actuals == b?.actuals && a?.forecast == b?.forecast && a?.periods == b?.periods)
        }
        #expect(whole.productState("P3") == restored.productState("P3"))
        restored.restoreProduct("P3", from: [9, 9])  // another version: ignored, the state stays
        #expect(whole.productState("P3") == restored.productState("P3"))
        // An open product alert says since when and which way (the period its alert was raised,
        // not the latest FCT), in both monitors.
        let raised = Dictionary(expected.filter { $0.status == .alert }.map { ($0.key, $0) }, uniquingKeysWith: { _, last in last })
        let open = whole.openAlerts().filter { $0.scope == "product" }
        #expect(!open.isEmpty && open.map(\.key) == restored.openAlerts().filter { $0.scope == "product" }.map(\.key))
        for alert in open {
            #expect(alert.period == raised[alert.key]?.period && alert.period < 59 && alert.direction == raised[alert.key]?.direction,
                    "\(alert.key): since \(alert.period), raised \(String(describing: raised[alert.key]))")
        }
        #expect(restored.openAlerts().map(\.period) == whole.openAlerts().map(\.period))
    }

    /// The fleet and category state stored mid-stream and restored into a fresh monitor (a
    /// restart from the checkpoint) goes on exactly as the monitor that never stopped: the same
    /// scope alerts, the same fleet view.
    @Test func scopeStateRestoredGoesOnExactly() {
        func feed(_ monitor: ForecastMonitor, periods: Range<Int64>, _ u: inout Uniform) -> [DriftAlert] {
            var alerts: [DriftAlert] = []
            for p in periods {
                for i in 0..<40 {
                    let y = (i % 2 == 0 && p >= 30 ? 8 : 0) + 10 * u.next()
                    alerts += monitor.observe(product: "P\(i)", category: "c\(i % 2)", period: p, actual: y, scale: 6,
                                              forecast: Array(repeating: [1, 5, 9], count: 3))
                }
                alerts += monitor.closeScopes(through: p)
            }
            return alerts.filter { $0.scope != "product" }
        }
        let whole = ForecastMonitor(config: ForecastMonitor.Config())
        var u1 = Uniform(state: 9)
        _ = feed(whole, periods: 0..<25, &u1)
        let restored = ForecastMonitor(config: ForecastMonitor.Config())
        for i in 0..<40 { restored.restoreProduct("P\(i)", from: whole.productState("P\(i)")) }
        #expect(restored.restoreScopes(whole.scopeState(closedThrough: 24)) == 24)
        #expect(restored.restoreScopes("not json") == nil)
        var u2 = u1
        let expected = feed(whole, periods: 25..<60, &u1), got = feed(restored, periods: 25..<60, &u2)
        #expect(!expected.isEmpty && got.map { "\($0.key) \($0.metric) \($0.period) \($0.status)" } == expected.map { "\($0.key) \($0.metric) \($0.period) \($0.status)" })
        #expect(whole.view()?.windowCoverage == restored.view()?.windowCoverage && whole.view()?.wql == restored.view()?.wql)
    }

    /// The product view reads the flat per-product table: the history ring keeps the newest
    /// `productHistory` periods in order with the one-step quantiles each was scored against, and
    /// a longer forecast (a model with more horizons) widens the table without touching others.
    @Test func productViewKeepsHistoryInOrderAndSurvivesWiderForecasts() {
        var config = ForecastMonitor.Config()
        config.productHistory = 5
        let monitor = ForecastMonitor(config: config)
        func rows(_ base: Float, _ h: Int) -> [[Float]] { (0..<h).map { k in [base + Float(k), base + 10 + Float(k), base + 20 + Float(k)] } }
        for p in Int64(100)..<108 {
            for (i, id) in ["A", "B"].enumerated() {
                _ = monitor.observe(product: id, category: nil, period: p, actual: Double(p) + Double(i), scale: 5,
                                    forecast: rows(Float(p) + Float(100 * i), 4))
            }
        }
        let a = monitor.product("A")!
        #expect(a.periods == [103, 104, 105, 106, 107])
        #expect(a.actuals == [103, 104, 105, 106, 107])
        // Scored against the forecast made one period earlier, its first row.
        #expect(a.pastQuantiles?.first == [102, 112, 122])
        #expect(a.observed == 7 && a.fct == 107)
        #expect(a.forecast?.count == 4 && a.forecast?[3] == [110, 120, 130])
        // A six-horizon forecast for A widens the table; B's stored forecast is unchanged.
        _ = monitor.observe(product: "A", category: nil, period: 108, actual: 108, scale: 5, forecast: rows(108, 6))
        let b = monitor.product("B")!
        #expect(b.forecast == rows(207, 4))
        #expect(monitor.product("A")?.forecast == rows(108, 6))
        #expect(b.periods == [103, 104, 105, 106, 107] && b.pastQuantiles?.last == [206, 216, 226])
        #expect(monitor.product("C") == nil)
    }

    /// The dashboard's top list is the n best of the full ranking (alarmed first, then |bias|).
    @Test func topDriftingIsTheHeadOfTheFullRanking() {
        let monitor = ForecastMonitor(config: ForecastMonitor.Config())
        var u = Uniform(state: 3)
        let ids = (0..<300).map { "P\($0)" }
        for p in Int64(0)..<40 {
            for (i, id) in ids.enumerated() {
                // Products drift by different amounts; some far enough to alarm.
                let y = 5 + 10 * u.next() + Double(i % 37) * Double(p) / 10
                _ = monitor.observe(product: id, category: nil, period: p, actual: y, scale: 6, forecast: Array(repeating: [1, 5, 9], count: 4))
            }
        }
        let views = ids.compactMap { monitor.product($0) }
        let ranked = views.sorted { ($0.alarmed ? 1 : 0, abs($0.bias), $1.product) > ($1.alarmed ? 1 : 0, abs($1.bias), $0.product) }
        #expect(views.contains { $0.alarmed } && views.contains { !$0.alarmed })
        for n in [1, 10, 299, 400] {
            #expect(monitor.topDrifting(n).map(\.product) == ranked.prefix(n).map(\.product), "n = \(n)")
        }
    }
}
