import Events
import Forecasting
import Foundation
import Metrics
import Monitoring
import Windows

extension DriftAlert {
    /// The `forecast-drift` message (docs/monitoring.md): one JSON object, keys in a fixed order.
    public func json(period calendar: Period) -> [UInt8] {
        func number(_ v: Double) -> String { v.isFinite ? String(format: "%.6g", v) : "null" }
        var text = #"{"schema":1,"scope":"\#(scope)","key":\#(jsonString(key)),"metric":"\#(metric)","#
        text += #""value":\#(number(value)),"expected":\#(number(expected)),"detector":"\#(detector)","#
        text += #""period":"\#(Timestamp.format(calendar.start(of: period)))","status":"\#(status.rawValue)""#
        if let direction { text += #","direction":"\#(direction)""# }
        return Array((text + "}").utf8)
    }
}

/// A JSON string literal.
func jsonString(_ s: String) -> String {
    String(decoding: (try? JSONEncoder().encode(s)) ?? Data("\"\"".utf8), as: UTF8.self)
}

extension StreamProcessor {
    /// Scores the forecast a product just replaced against the actual that closed, and passes any
    /// drift alert to the sink. Called for every product refreshed at a period close.
    func monitor(_ window: ProductWindow, forecast: [[Float]]) throws {
        guard let monitor, let y = window.recent(.units, count: 1).last else { return }
        let recent = window.recent(.units, count: 28)
        let scale = 1 + Double(recent.reduce(0, +)) / Double(max(recent.count, 1))
        try emit(monitor.observe(product: window.product, category: window.category, period: window.lastClosed,
                                 actual: Double(y), scale: scale, forecast: forecast))
    }

    /// Runs the fleet and category detectors over the periods every partition here has closed. A
    /// partition that has closed nothing yet holds them back, unless it holds nothing at all and
    /// every input of it is caught up (an empty partition).
    func closeScopes() throws {
        guard let monitor else { return }
        var through = Int64.max
        for state in partitions.values {
            if let closed = state.windows.closedThrough {
                through = min(through, closed)
            } else if !(state.windows.products.isEmpty && state.windows.inputs.values.allSatisfy(\.idle)) {
                return
            }
        }
        guard through != .max, through > scopesClosedThrough else { return }
        scopesClosedThrough = through
        try emit(monitor.closeScopes(through: through))
        publishMonitorGauges()
    }

    /// The fleet and category state of the instance's last checkpoint (`checkpointBatch` stores it).
    public func restoreScopes(_ stored: String) {
        if let through = monitor?.restoreScopes(stored) { scopesClosedThrough = through }
    }

    private func emit(_ alerts: [DriftAlert]) throws {
        for alert in alerts {
            try sink.drift(alert, json: alert.json(period: config.windows.period))
            PipelineMetrics.driftAlerts(scope: alert.scope, status: alert.status.rawValue).increment()
        }
    }

    /// Fleet gauges for Prometheus, once the scopes have closed a period (not after every
    /// partition's close: the fleet view sums the whole window, and there are many partitions).
    func publishMonitorGauges() {
        guard let view = monitor?.view() else { return }
        for (q, c) in zip(view.quantiles, view.windowCoverage) {
            PipelineMetrics.coverage(quantile: q).record(c)
        }
        PipelineMetrics.wql().record(view.windowWQL)
        PipelineMetrics.bias().record(view.windowBias)
        PipelineMetrics.volatility().record(view.windowVolatility)
        PipelineMetrics.activeDriftAlerts(scope: "global").record(Double(view.activeAlerts.count))
    }
}
