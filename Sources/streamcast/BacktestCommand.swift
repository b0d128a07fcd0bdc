import ArgumentParser
import Events
import Forecasting
import Foundation
import Pipeline

/// `streamcast backtest`: rolling-origin accuracy of the forecasters on a replay file.
struct BacktestCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "backtest",
        abstract: "Rolling-origin evaluation (wQL per quantile, mean wQL, coverage, WAPE, MASE, volatility) on a replay file.")

    @Option(help: "Replay file.") var replay: String
    @Option(help: "Number of forecast creation times (the last K whose horizon fits).") var fcts = 8
    @Option(help: "Forecasters to evaluate (comma-separated).") var forecasters = "seasonal_naive,empirical_quantiles"
    @Option(help: "Trained model files to evaluate too (repeatable).") var model: [String] = []
    @Flag(help: "Print the reports as JSON.") var json = false
    @Option(help: "Write the scored forecasts (contract JSON Lines) here.") var forecastsOut: String?
    @Option(help: "Shift fct/target dates in --forecasts-out by this many days (walmart: 4, Monday → Friday).") var shiftOutputDays = 0
    @OptionGroup var options: PipelineOptions

    func run() throws {
        let settings = try options.settings()
        var config = settings.pipeline
        let period = config.windows.period
        let models = try model.map { try MQModel.load(from: $0) }
        for m in models {
            guard m.period == period else { throw ValidationError("model \(m.id) is for \(m.period.rawValue)s, not \(period.rawValue)s") }
            config.windows.length = max(config.windows.length, m.network.config.context)
        }
        let actuals = try Backtest.actuals(path: replay, period: period)
        let origins = Backtest.fcts(actuals: actuals, horizons: config.horizons, count: fcts)
        let writer = try forecastsOut.map { try LineWriter(path: $0) }
        var reports: [AccuracyReport] = []
        var all: [any Forecaster] = try forecasters.split(separator: ",").map { name in
            guard let f = Forecasters.make(String(name), period: period) else { throw ValidationError("unknown forecaster \(name)") }
            return f
        }
        all += models.map { MQForecaster(model: $0) }
        for f in all {
            let result = try Backtest.run(path: replay, config: config, forecaster: f, actuals: actuals, fcts: origins)
            reports.append(result.report)
            for var m in result.messages {
                let shift = Int64(shiftOutputDays) * 86_400_000
                m.fct += shift
                m.targets = m.targets.map { ($0.start + shift, $0.q) }
                writer?.write(m.json)
            }
        }
        writer?.close()
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            say(String(decoding: try encoder.encode(reports), as: UTF8.self))
            return
        }
        say("backtest \(replay): \(actuals.count) products, FCTs \(origins.map { Timestamp.format(period.start(of: $0)).prefix(10) }.joined(separator: " ")), H=\(config.horizons)")
        for r in reports {
            let q = zip(r.quantiles, r.weightedQuantileLoss).map { String(format: "wQL[%g]=%.4f", $0, $1) }.joined(separator: " ")
            let c = zip(r.quantiles, r.coverage).map { String(format: "cov[%g]=%.3f", $0, $1) }.joined(separator: " ")
            say(String(format: "%-26@ mean_wQL=%.4f  %@  %@  WAPE=%.4f MASE=%.3f volatility=%.4f cells=%d",
                       r.model as NSString, r.meanWeightedQuantileLoss, q as NSString, c as NSString, r.wape, r.mase, r.volatility, r.cells))
        }
    }
}
