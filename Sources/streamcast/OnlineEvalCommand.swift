import ArgumentParser
import Events
import Forecasting
import Monitoring
import Foundation
import Pipeline
import Windows

/// `streamcast online-eval`: the serving switches compared on one log. Runs the online pipeline
/// (the service's code, offline) once per variant — error memory on/off, recalibration on/off, the
/// baselines — scores every forecast it emitted, and, given the simulator's drift file, how the
/// shifted products recover.
struct OnlineEvalCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "online-eval",
        abstract: "Compare serving variants (error memory, recalibration) on a replay: recovery after shifts, coverage, volatility.")

    @Option(help: "Replay file.") var replay: String
    @Option(help: "Drift file from `streamcast simulate` (BASE.drift.jsonl): report recovery of the shifted products.") var drift: String?
    @Option(help: "Variants of the model (comma-separated): memory, no-memory, memory+aci, no-memory+aci, blank-errors (memory entries kept, their errors zeroed: an ablation).") var variants = "memory,no-memory,memory+aci,no-memory+aci"
    @Option(help: "Baselines to run too (comma-separated, NAME+aci recalibrated, \"\" for none).") var forecasters = "seasonal_naive"
    @Option(help: "Recalibration step η (per miss, in units of the product's scale or of its interval's width: --recalibration-scale).") var recalibrationStep: Float = 0.05
    @Option(help: "What a recalibration step is relative to: level (the product's mean) or width (the interval it emitted); default: forecast.recalibration_scale.") var recalibrationScale: ConformalRecalibrator.StepScale?
    @Option(help: "Write the per-FCT recovery curves as CSV here.") var curvesOut: String?
    @Flag(help: "Print the reports as JSON.") var json = false
    @OptionGroup var options: PipelineOptions

    struct DriftLine: Decodable { var product: String; var kind: String; var factor: Double; var start: String }

    func run() throws {
        let settings = try options.settings()
        var config = settings.pipeline
        let period = config.windows.period
        let all = try variantsToRun(settings, config: &config)
        let shifts = try driftGroups(period)
        let actuals = try Backtest.actuals(path: replay, period: period)
        var reports: [ShiftRecoveryReport] = []
        var overall: [AccuracyReport] = []
        var detections: [DetectorReport] = []
        for f in all {
            let started = Date()
            let sink = CollectingSink()
            let processor = try StreamProcessor(config: config, sink: sink, forecaster: f)
            try OfflineReplay.run(path: replay, processor: processor)
            var evaluator = AccuracyEvaluator(quantiles: config.quantiles, horizons: config.horizons, season: period.season)
            evaluator.actuals = actuals
            var fcts = Set<Int64>()
            for m in sink.forecasts {
                let t = period.index(of: m.fct)
                evaluator.forecasts[m.product, default: [:]][t] = m.targets.map(\.q)
                fcts.insert(t)
            }
            let scored = fcts.sorted()
            warn(String(format: "%@: %d forecasts in %.1f s", f.id as NSString, sink.forecasts.count, Date().timeIntervalSince(started)))
            if shifts.isEmpty { overall.append(evaluator.report(model: f.id, fcts: scored)) }
            for (group, products) in shifts.sorted(by: { ($0.key.period, $0.key.kind) < ($1.key.period, $1.key.kind) }) {
                let label = shifts.count > 1 || group.kind != "level" ? f.id + " [\(group.kind)]" : f.id
                reports.append(ShiftRecoveryReport.evaluate(model: label, evaluator: evaluator, shifted: products, shiftPeriod: group.period, fcts: scored))
                if processor.monitor != nil {
                    detections.append(DetectorReport.evaluate(model: label, alerts: sink.alerts, shifted: products, shiftPeriod: group.period,
                                                              anyDrift: shifts.values.reduce(Set()) { $0.union($1) }, productPeriods: sink.forecasts.count))
                }
            }
        }
        if let curvesOut { try writeCurves(reports, to: curvesOut, quantiles: config.quantiles) }
        if json {
            let encoder = reportEncoder()
            say(String(decoding: shifts.isEmpty ? try encoder.encode(overall) : try encoder.encode(reports), as: UTF8.self))
            return
        }
        say("online-eval \(replay): \(actuals.count) products, H=\(config.horizons), every FCT of the log scored")
        printReports(reports, detections: detections, overall: overall, config: config)
    }

    /// The baselines asked for (NAME+aci recalibrated), then the model's variants; windows grow to
    /// the history the model needs.
    func variantsToRun(_ settings: Settings, config: inout PipelineConfig) throws -> [any Forecaster] {
        let period = config.windows.period
        var all: [any Forecaster] = []
        let scale = recalibrationScale ?? settings.recalibrationScale
        func recalibrated(_ f: any Forecaster) -> any Forecaster { ConformalRecalibrator(inner: f, step: recalibrationStep, stepScale: scale) }
        for name in forecasters.split(separator: ",") {
            let recalibrate = name.hasSuffix("+aci")
            let base = recalibrate ? name.dropLast(4) : name
            guard let f = Forecasters.make(String(base), period: period) else { throw ValidationError("unknown forecaster \(base)") }
            all.append(recalibrate ? recalibrated(f) : f)
        }
        if let path = settings.modelFile {
            let model = try MQModel.load(from: path)
            guard model.period == period else { throw ValidationError("model \(model.id) is for \(model.period.rawValue)s, not \(period.rawValue)s") }
            config.windows.length = max(config.windows.length, model.historyNeeded)
            for v in variants.split(separator: ",").map(String.init) {
                guard ["memory", "no-memory", "memory+aci", "no-memory+aci", "blank-errors"].contains(v) else { throw ValidationError("unknown variant \(v)") }
                guard v != "blank-errors" || model.members.isEmpty else { throw ValidationError("the blank-errors variant takes a single-network model; \(path) averages \(model.networks.count)") }
                let f = v == "blank-errors" ? MQForecaster(model: model, blankErrors: true) : model.forecaster(useMemory: !v.hasPrefix("no-memory"))
                all.append(v.hasSuffix("+aci") ? recalibrated(f) : f)
            }
        }
        return all
    }

    /// Drifted products grouped by kind and first drifted period (the experiment logs have one group each).
    func driftGroups(_ period: Period) throws -> [DriftGroup: Set<String>] {
        var shifts: [DriftGroup: Set<String>] = [:]
        guard let drift else { return shifts }
        let text = try String(contentsOfFile: drift, encoding: .utf8)
        for line in text.split(separator: "\n") {
            let d = try JSONDecoder().decode(DriftLine.self, from: Data(line.utf8))
            guard let start = Timestamp.parse(d.start) else { continue }
            shifts[DriftGroup(kind: d.kind, period: period.index(of: start)), default: []].insert(d.product)
        }
        return shifts
    }

    func printReports(_ reports: [ShiftRecoveryReport], detections: [DetectorReport], overall: [AccuracyReport], config: PipelineConfig) {
        let period = config.windows.period
        for r in reports {
            // Coverage as share of actuals at or below each quantile, and the mid coverage (an actual
            // equal to the quantile counts one half), which is right for counts (docs/online.md).
            let cov = zip(config.quantiles, zip(r.overall.coverage, r.overall.midCoverage)).map { String(format: "P%g %.3f (mid %.3f)", $0 * 100, $1.0, $1.1) }.joined(separator: ", ")
            let shiftStart = Timestamp.format(period.start(of: r.shiftPeriod)).prefix(10)
            say(String(format: "%-32@ %d products shifted from %@: wQL after the shift %.4f (before %.4f), recovered after %@, coverage error after the shift %.4f",
                       r.model as NSString, r.products, String(shiftStart) as NSString, r.wqlAfterShift, r.wqlBeforeShift,
                       (r.recoveryPeriods.map { "\($0) periods" } ?? "never") as NSString, r.coverageErrorAfterShift))
            say(String(format: "%-32@ all FCTs: mean_wQL %.4f, coverage %@, volatility %.4f",
                       r.model as NSString, r.overall.meanWeightedQuantileLoss, cov as NSString, r.overall.volatility))
        }
        for d in detections {
            say(String(format: "%-32@ drift detection: %d/%d shifted products flagged, delay median %@ / p90 %@ periods; false alarms %.2f per 1,000 product-periods (%d)",
                       d.model as NSString, d.detected, d.shifted, (d.medianDelay.map { String($0) } ?? "-") as NSString,
                       (d.p90Delay.map { String($0) } ?? "-") as NSString, d.falseAlarmsPerThousand, d.falseAlarms))
        }
        for r in overall {
            say(String(format: "%-32@ mean_wQL %.4f volatility %.4f cells %d", r.model as NSString, r.meanWeightedQuantileLoss, r.volatility, r.cells))
        }
    }

    private func writeCurves(_ reports: [ShiftRecoveryReport], to path: String, quantiles: [Double]) throws {
        var text = "model,shift,fct,mean_wql," + quantiles.map { "cov\($0)" }.joined(separator: ",") + ","
            + quantiles.map { "midcov\($0)" }.joined(separator: ",") + "\n"
        for r in reports {
            for p in r.curve {
                text += "\(r.model),\(r.shiftPeriod),\(p.fct - r.shiftPeriod),\(String(format: "%.5f", p.meanWQL)),"
                    + p.coverage.map { String(format: "%.4f", $0) }.joined(separator: ",") + ","
                    + p.midCoverage.map { String(format: "%.4f", $0) }.joined(separator: ",") + "\n"
            }
        }
        try text.write(toFile: path, atomically: true, encoding: .utf8)
    }
}

/// How well the monitor's per-product detector finds injected shifts (docs/monitoring.md).
struct DetectorReport: Codable {
    var model: String
    var shifted: Int
    var detected: Int
    var medianDelay: Int?
    var p90Delay: Int?
    var falseAlarms: Int
    var falseAlarmsPerThousand: Double

    /// Delay = first product alert at or after the shift − the shift period (0: flagged at the
    /// first shifted period's close). False alarm = a product alert on a product without a shift,
    /// or on a shifted one before its shift; per 1,000 scored product-periods.
    /// `anyDrift`: every product with a drift of any kind (none of their alerts counts as false
    /// after their shift).
    static func evaluate(model: String, alerts: [DriftAlert], shifted: Set<String>, shiftPeriod: Int64, anyDrift: Set<String>,
                         productPeriods: Int) -> DetectorReport {
        let raised = alerts.filter { $0.scope == "product" && $0.status == .alert }
        var delays: [Int] = []
        for product in shifted {
            if let first = raised.filter({ $0.key == product && $0.period >= shiftPeriod }).map(\.period).min() {
                delays.append(Int(first - shiftPeriod))
            }
        }
        delays.sort()
        let falseAlarms = raised.filter { !anyDrift.contains($0.key) || $0.period < shiftPeriod }.count
        return DetectorReport(model: model, shifted: shifted.count, detected: delays.count,
                              medianDelay: delays.isEmpty ? nil : delays[delays.count / 2],
                              p90Delay: delays.isEmpty ? nil : delays[min(delays.count - 1, delays.count * 9 / 10)],
                              falseAlarms: falseAlarms, falseAlarmsPerThousand: 1000 * Double(falseAlarms) / Double(max(productPeriods, 1)))
    }
}

struct DriftGroup: Hashable { var kind: String; var period: Int64 }
