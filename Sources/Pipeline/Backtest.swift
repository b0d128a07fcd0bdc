import Decisions
import Events
import Forecasting
import Foundation
import Windows

/// Rolling-origin evaluation on a replay file: run the pipeline (the same code as the service)
/// with a forecaster, keep the forecasts made at the last K forecast creation times, and score
/// them against the log's own per-period sales.
public enum Backtest {
    public struct Result {
        public var report: AccuracyReport
        /// The scored forecasts (contract messages), for files and outside scorers.
        public var messages: [ForecastMessage]
        /// The order recommendations made at the FCTs (when `config.decisions` is set).
        public var recommendations: [Recommendation]
    }

    /// Per product and period: the sum of sale units in the log, with 0 for every period from the
    /// product's first event to the end of the log in which it sold nothing.
    public static func actuals(path: String, period: Period) throws -> [String: [Int64: Double]] {
        var out: [String: [Int64: Double]] = [:]
        var first: [String: Int64] = [:]
        var last = Int64.min
        let decoder = EventDecoder()
        try ReplayReader(path: path).forEachLine { line, _ in
            guard case .success(let e) = decoder.decode(line) else { return }
            let p = period.index(of: e.time)
            first[e.product] = min(first[e.product] ?? p, p)
            if e.kind != .price { last = max(last, p) }
            if e.kind == .sale { out[e.product, default: [:]][p, default: 0] += e.quantity }
        }
        for (product, start) in first where start <= last {
            for p in start...last where out[product]?[p] == nil { out[product, default: [:]][p] = 0 }
        }
        return out
    }

    /// The last `count` FCTs whose whole horizon is inside the data: T−H−K+1 … T−H.
    public static func fcts(actuals: [String: [Int64: Double]], horizons: Int, count: Int) -> [Int64] {
        let last = actuals.values.compactMap { $0.keys.max() }.max() ?? 0
        return (0..<count).map { last - Int64(horizons) - Int64(count) + 1 + Int64($0) }
    }

    public static func run(path: String, config: PipelineConfig, forecaster: any Forecaster,
                           actuals: [String: [Int64: Double]], fcts: [Int64]) throws -> Result {
        let sink = CollectingSink()
        let processor = try StreamProcessor(config: config, sink: sink, forecaster: forecaster)
        try OfflineReplay.run(path: path, processor: processor)
        let period = config.windows.period
        let wanted = Set(fcts)
        var evaluator = AccuracyEvaluator(quantiles: config.quantiles, horizons: config.horizons, season: period.season)
        evaluator.actuals = actuals
        var messages: [ForecastMessage] = []
        for m in sink.forecasts {
            let t = period.index(of: m.fct)
            guard wanted.contains(t) || wanted.contains(t + 1) else { continue }  // t−1 too, for volatility
            evaluator.forecasts[m.product, default: [:]][t] = m.targets.map(\.q)
            if wanted.contains(t) { messages.append(m) }
        }
        let recommendations = sink.recommendations.filter { wanted.contains(period.index(of: $0.fct)) }
        return Result(report: evaluator.report(model: forecaster.id, fcts: fcts), messages: messages, recommendations: recommendations)
    }
}
