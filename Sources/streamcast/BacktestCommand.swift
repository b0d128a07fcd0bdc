import ArgumentParser
import Decisions
import Events
import Forecasting
import Foundation
import Pipeline
import Windows

/// `streamcast backtest`: rolling-origin accuracy of the forecasters on a replay file.
struct BacktestCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "backtest",
        abstract: "Rolling-origin evaluation (wQL per quantile, mean wQL, coverage, WAPE, MASE, volatility) on a replay file.",
        discussion: "Coverage counts an actual equal to the quantile (common with counts) by the share the level implies: the share below the quantile, raised toward the level by the ties, at most to the share at or below; the band in brackets is those two shares. The true distribution reads nominal under it (docs/monitoring.md).")

    @Option(help: "Replay file.") var replay: String
    @Option(help: "Number of forecast creation times (the last K whose horizon fits).") var fcts = 8
    @Option(help: "Forecasters to evaluate (comma-separated).") var forecasters = "seasonal_naive,empirical_quantiles"
    @Option(help: "Ground truth from `streamcast simulate` (BASE.truth.csv.gz): also report the oracle (the true quantiles) and each model's ratio to it.") var truth: String?
    @Option(help: "Also evaluate the quantile average of these model files (A+B+C, e.g. one network trained with several seeds); repeatable.") var ensemble: [String] = []
    @Flag(help: "Print the reports as JSON.") var json = false
    @Option(help: "Write the scored forecasts (contract JSON Lines) here.") var forecastsOut: String?
    @Option(help: "Also evaluate each model and ensemble wrapped in online recalibration with this step η (repeatable): it learns per product from every period the replay closes before each FCT, as the service with forecast.recalibration = \"product\" does.") var recalibrationStep: [Float] = []
    @Option(help: "What a recalibration step is relative to: level (the product's mean) or width (the interval it emitted); default: forecast.recalibration_scale.") var recalibrationScale: ConformalRecalibrator.StepScale?
    @Flag(help: "Also evaluate each model with its error memory off (ids end in +no-memory): what the memory changes, forecast by forecast.") var noMemory = false
    @Option(help: "Also play each forecaster's order recommendations against the actual demand and report their cost: a TOML file of [decisions] policy tables, as in the configuration (docs/decisions.md). With --truth, also the oracle's orders (from the true demand distribution).") var costs: String?
    @Option(help: "Shift fct/target dates in --forecasts-out by this many days (walmart: 4, Monday → Friday).") var shiftOutputDays = 0
    @OptionGroup var options: PipelineOptions

    func run() throws {
        guard recalibrationStep.allSatisfy({ $0 > 0 && $0 <= 1 }) else { throw ValidationError("--recalibration-step must be in (0, 1]") }
        let settings = try options.settings()
        var config = settings.pipeline
        let period = config.windows.period
        let all = try forecastersToRun(settings, config: &config)
        config.decisions = try costs.map { try Self.policies($0, horizons: config.horizons) }
        let actuals = try Backtest.actuals(path: replay, period: period)
        let origins = Backtest.fcts(actuals: actuals, horizons: config.horizons, count: fcts)
        var plans: [(model: String, plans: [String: CostBacktest.Plan])] = []
        let writer = try forecastsOut.map { try LineWriter(path: $0) }
        var reports: [AccuracyReport] = []
        for f in all {
            let result = try Backtest.run(path: replay, config: config, forecaster: f, actuals: actuals, fcts: origins)
            reports.append(result.report)
            if costs != nil { plans.append((f.id, CostBacktest.plans(result.recommendations, fcts: origins, period: period))) }
            for var m in result.messages {
                let shift = Int64(shiftOutputDays) * 86_400_000
                m.fct += shift
                m.targets = m.targets.map { ($0.start + shift, $0.q) }
                writer?.write(m.json)
            }
        }
        writer?.close()
        let truthFile = try truth.map { try TruthFile(path: $0, config: config) }
        if let truthFile {
            let oracle = oracleReport(truth: truthFile, config: config, actuals: actuals, fcts: origins)
            if !json { say(OracleMonitorCheck.run(truth: truthFile, config: config, actuals: actuals)) }
            reports.append(oracle)
            for i in reports.indices.dropLast() {
                reports[i].oracleRatio = reports[i].meanWeightedQuantileLoss / oracle.meanWeightedQuantileLoss
            }
        }
        let money = costs.map { _ in costReport(plans, truth: truthFile, actuals: actuals, fcts: origins, config: config) }
        if json {
            let encoder = reportEncoder()
            if let money {
                struct Both: Encodable { var accuracy: [AccuracyReport]; var costs: [CostRow] }
                say(String(decoding: try encoder.encode(Both(accuracy: reports, costs: money)), as: UTF8.self))
            } else {
                say(String(decoding: try encoder.encode(reports), as: UTF8.self))
            }
            return
        }
        say("backtest \(replay): \(actuals.count) products, FCTs \(origins.map { Timestamp.format(period.start(of: $0)).prefix(10) }.joined(separator: " ")), H=\(config.horizons)")
        printReports(reports, money: money)
    }

    /// The baselines asked for, then each model and ensemble (also without its memory with
    /// --no-memory), then those recalibrated at each --recalibration-step. Windows grow to the
    /// history the models need.
    func forecastersToRun(_ settings: Settings, config: inout PipelineConfig) throws -> [any Forecaster] {
        let period = config.windows.period
        let models = try options.model.map { try MQModel.load(from: $0) }
        let ensembles = try ensemble.map { files in
            let paths = files.split(separator: "+")
            guard !paths.isEmpty else { throw ValidationError("--ensemble needs model files joined by +, got \"\(files)\"") }
            return try paths.map { try MQModel.load(from: String($0)) }
        }
        for m in models + ensembles.flatMap({ $0 }) {
            guard m.period == period else { throw ValidationError("model \(m.id) is for \(m.period.rawValue)s, not \(period.rawValue)s") }
            config.windows.length = max(config.windows.length, m.historyNeeded)
        }
        let baselines: [any Forecaster] = try forecasters.split(separator: ",").map { name in
            guard let f = Forecasters.make(String(name), period: period) else { throw ValidationError("unknown forecaster \(name)") }
            return f
        }
        let learned: [any Forecaster] = (noMemory ? [true, false] : [true]).flatMap { memory in
            models.map { $0.forecaster(useMemory: memory) } + ensembles.map { MQModel.forecaster(serving: $0, useMemory: memory) }
        }
        let scale = recalibrationScale ?? settings.recalibrationScale
        return baselines + learned + recalibrationStep.flatMap { eta in learned.map { ConformalRecalibrator(inner: $0, step: eta, stepScale: scale) } }
    }

    /// One line per forecaster (and the oracle), then, with --costs, what their orders cost.
    func printReports(_ reports: [AccuracyReport], money: [CostRow]?) {
        for r in reports {
            let q = zip(r.quantiles, r.weightedQuantileLoss).map { String(format: "wQL[%g]=%.4f", $0, $1) }.joined(separator: " ")
            // Coverage with ties counted by the level's share, and the band the ties leave (y < q … y ≤ q).
            let c = r.quantiles.indices.map { String(format: "cov[%g]=%.3f (%.3f–%.3f)", r.quantiles[$0], r.coverage[$0], r.coverageBelow[$0], r.coverageAtOrBelow[$0]) }
                .joined(separator: " ")
            say(String(format: "%-26@ mean_wQL=%.4f  %@  %@  WAPE=%.4f MASE=%.3f volatility=%.4f cells=%d",
                       r.model as NSString, r.meanWeightedQuantileLoss, q as NSString, c as NSString, r.wape, r.mase, r.volatility, r.cells)
                + (r.oracleRatio.map { String(format: "  ×oracle=%.3f", $0) } ?? ""))
        }
        if let money, let first = money.first {
            say("order recommendations played against the actual demand (\(costs!)): \(first.products) products, \(first.outcome.periods) product-periods")
            for row in money {
                let o = row.outcome
                say(String(format: "%-26@ cost=%.2f (holding %.2f, shortage %.2f)  service_level=%.3f fill_rate=%.4f",
                           row.model as NSString, o.totalCost, o.holdingCost, o.shortageCost, o.serviceLevel, o.fillRate)
                    + (row.oracleRatio.map { String(format: "  ×oracle=%.3f", $0) } ?? ""))
            }
        }
    }

    /// The [decisions] tables of a --costs file.
    static func policies(_ file: String, horizons: Int) throws -> DecisionsConfig {
        let book = try Settings.load(configPath: file, environment: [:])
        guard book.decisions.book.longestCoverage <= horizons else {
            throw ValidationError("\(file): an order covers lead time + review period = \(book.decisions.book.longestCoverage) periods; the forecasts reach \(horizons) (--horizons)")
        }
        return book.decisions
    }

    /// One row of the money report.
    struct CostRow: Encodable {
        var model: String
        var products: Int
        var outcome: InventorySimulation.Outcome
        var totalCost: Double
        var serviceLevel: Double
        var fillRate: Double
        var oracleRatio: Double?
    }

    /// Plays every forecaster's plans (and, with --truth, the oracle's) on the products every
    /// forecaster has a plan for.
    func costReport(_ plans: [(model: String, plans: [String: CostBacktest.Plan])], truth: TruthFile?, actuals: [String: [Int64: Double]],
                    fcts origins: [Int64], config: PipelineConfig) -> [CostRow] {
        guard var common = plans.first.map({ Set($0.plans.keys) }) else { return [] }
        for p in plans.dropFirst() { common.formIntersection(p.plans.keys) }
        var all = plans
        if let truth, let first = plans.first {
            let oracle = CostBacktest.oraclePlans(like: first.plans.filter { common.contains($0.key) }, fcts: origins, truth: truth.distributions)
            common.formIntersection(oracle.keys)
            let quantiles = CostBacktest.quantilePlans(like: oracle, fcts: origins, levels: config.quantiles,
                                                       truth: truth.quantiles, correlation: config.decisions?.correlation ?? 0)
            all.append(("oracle quantiles, read as forecasts", quantiles))
            all.append(("oracle (true distribution)", oracle))
        }
        let products = common.sorted()
        var rows = all.map { model, plans in
            let o = CostBacktest.play(plans, products: products, fcts: origins, actuals: actuals)
            return CostRow(model: model, products: products.count, outcome: o, totalCost: o.totalCost, serviceLevel: o.serviceLevel, fillRate: o.fillRate)
        }
        if truth != nil, let oracle = rows.last?.totalCost, oracle > 0 {
            for i in rows.indices.dropLast() { rows[i].oracleRatio = rows[i].totalCost / oracle }
        }
        return rows
    }
}

/// The oracle: at every FCT it forecasts each target period with the simulator's true quantiles.
func oracleReport(truth: TruthFile, config: PipelineConfig, actuals: [String: [Int64: Double]], fcts: [Int64]) -> AccuracyReport {
    var evaluator = AccuracyEvaluator(quantiles: config.quantiles, horizons: config.horizons, season: config.windows.period.season)
    evaluator.actuals = actuals
    for (product, byPeriod) in truth.quantiles {
        for t in fcts.flatMap({ [$0 - 1, $0] }) {
            evaluator.forecasts[product, default: [:]][t] = (1...config.horizons).map { byPeriod[t + Int64($0)] ?? config.quantiles.map { _ in 0 } }
        }
    }
    return evaluator.report(model: "oracle (true quantiles)", fcts: fcts)
}

/// JSON for reports: an undefined metric (e.g. MASE with no history before the first FCT) is "nan".
func reportEncoder() -> JSONEncoder {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
    encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
    return encoder
}
