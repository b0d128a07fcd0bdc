import Foundation

/// How a forecaster recovers when some products' demand shifts (the feedback experiment):
/// accuracy of the shifted products just after the shift, how long until their coverage is back
/// near nominal, and volatility/accuracy over the whole log for every product.
public struct ShiftRecoveryReport: Sendable, Codable {
    public var model: String
    /// Products with the shift, and the first period they were shifted in.
    public var products: Int
    public var shiftPeriod: Int64
    /// Mean wQL of the shifted products over the H forecasts made after the first shifted period
    /// closed (FCTs shift … shift+H−1, all horizons): the recovery window.
    public var wqlAfterShift: Double
    /// The same for the H FCTs before the shift (forecasts that cannot know yet), for reference.
    public var wqlBeforeShift: Double
    /// FCTs after the shift until the shifted products' coverage of every quantile is within
    /// `tolerance` of nominal for `stable` FCTs in a row (nil: not within the log). Coverage here
    /// is the mid coverage (AccuracyReport.midCoverage): with plain y ≤ ŷ, low counts keep any
    /// forecast's P10 "over-covered" (every zero sale is below any P10 in (0, 1)), and whether a
    /// model "recovers" then depends on how many slow sellers the shifted group has.
    public var recoveryPeriods: Int?
    /// Mean |mid coverage − nominal| of the shifted products over the FCTs shift … shift + 8 and the
    /// quantiles: how far from calibrated they stay while recovering. Continuous, so it separates
    /// models the count (a whole number of periods, moved by one noisy FCT) cannot.
    public var coverageErrorAfterShift: Double
    /// Per FCT from shift−2 on: the shifted products' coverage per quantile and mean wQL.
    public var curve: [Point]
    /// Every product, every FCT of the log.
    public var overall: AccuracyReport

    public struct Point: Sendable, Codable {
        public var fct: Int64
        public var coverage: [Double]
        public var midCoverage: [Double]
        public var meanWQL: Double
    }

    public static let tolerance = 0.05
    public static let stable = 3
    /// FCTs after the shift (besides the shift's own) that the coverage error averages over.
    public static let errorWindow = 8

    /// `evaluator` holds every forecast and actual of the run; `fcts` is every FCT to score.
    public static func evaluate(model: String, evaluator: AccuracyEvaluator, shifted: Set<String>, shiftPeriod: Int64,
                                fcts: [Int64]) -> ShiftRecoveryReport {
        let H = Int64(evaluator.horizons)
        var subset = evaluator
        subset.actuals = evaluator.actuals.filter { shifted.contains($0.key) }
        let after = subset.report(model: model, fcts: Array(shiftPeriod..<(shiftPeriod + H)))
        let before = subset.report(model: model, fcts: Array((shiftPeriod - H)..<shiftPeriod))
        let last = fcts.max() ?? shiftPeriod
        var curve: [Point] = []
        for t in (shiftPeriod - 2)...max(shiftPeriod - 2, last) {
            let r = subset.report(model: model, fcts: [t])
            guard r.cells > 0 else { continue }
            curve.append(Point(fct: t, coverage: r.coverage, midCoverage: r.midCoverage, meanWQL: r.meanWeightedQuantileLoss))
        }
        let within = curve.map { p in zip(p.midCoverage, evaluator.quantiles).allSatisfy { abs($0 - $1) <= tolerance } }
        var recovery: Int?
        for (i, p) in curve.enumerated() where p.fct >= shiftPeriod && i + stable <= curve.count {
            if within[i..<(i + stable)].allSatisfy({ $0 }) { recovery = Int(p.fct - shiftPeriod); break }
        }
        let recovering = curve.filter { (shiftPeriod...(shiftPeriod + Int64(errorWindow))).contains($0.fct) }
        let errors = recovering.flatMap { p in zip(p.midCoverage, evaluator.quantiles).map { abs($0 - $1) } }
        return ShiftRecoveryReport(model: model, products: subset.actuals.count, shiftPeriod: shiftPeriod,
                                   wqlAfterShift: after.meanWeightedQuantileLoss, wqlBeforeShift: before.meanWeightedQuantileLoss,
                                   recoveryPeriods: recovery,
                                   coverageErrorAfterShift: errors.isEmpty ? .nan : errors.reduce(0, +) / Double(errors.count),
                                   curve: curve,
                                   overall: evaluator.report(model: model, fcts: fcts))
    }
}
