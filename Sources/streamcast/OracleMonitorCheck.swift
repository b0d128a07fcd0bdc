import Forecasting
import Foundation
import Monitoring
import Pipeline

/// The drift monitor fed with the truth: every period of a simulated log, every product's true
/// quantiles as its forecast (as the service would feed a perfect model's). A monitor that alarms
/// on this alarms on correct forecasts; `backtest --truth` prints what it raised and the fleet's
/// coverage.
enum OracleMonitorCheck {
    static func run(truth: TruthFile, config: PipelineConfig, actuals: [String: [Int64: Double]]) -> String {
        let quantiles = truth.quantiles
        var monitorConfig = config.monitoring ?? ForecastMonitor.Config()
        monitorConfig.quantiles = config.quantiles
        let monitor = ForecastMonitor(config: monitorConfig)
        let periods = Set(actuals.values.flatMap(\.keys)).sorted()
        let zero = config.quantiles.map { _ in Float(0) }
        var alerts: [DriftAlert] = []
        var level: [String: Double] = [:]
        var scored = 0
        let byProduct = actuals.sorted(by: { $0.key < $1.key })
        for p in periods {
            for (product, ys) in byProduct {
                guard let y = ys[p], let truth = quantiles[product] else { continue }
                let rows = (1...config.horizons).map { truth[p + Int64($0)] ?? zero }
                // The scale the service passes: 1 + the product's recent mean (an EWMA here).
                let scale = 1 + (level[product] ?? y)
                alerts += monitor.observe(product: product, category: nil, period: p, actual: y, scale: scale, forecast: rows)
                level[product] = (level[product] ?? y) * 0.9 + y * 0.1
                scored += 1
            }
            alerts += monitor.closeScopes(through: p)
        }
        let coverageAlerts = alerts.filter { $0.status == .alert && $0.metric.hasPrefix("coverage") }
        let productAlerts = alerts.filter { $0.status == .alert && $0.scope == "product" }
        let fleet = monitor.view()
        let coverage = fleet.map { zip($0.quantiles, $0.windowCoverage).map { String(format: "P%g %.3f", $0 * 100, $1) }.joined(separator: " ") } ?? "-"
        return String(format: "oracle through the drift monitor: %d product-periods; fleet coverage over the last window %@; coverage alerts %d; product bias alerts %d (%.2f per 1,000 product-periods)",
                      scored, coverage as NSString, coverageAlerts.count, productAlerts.count, Double(productAlerts.count) * 1000 / Double(max(scored, 1)))
    }
}
