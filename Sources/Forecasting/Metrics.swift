import Foundation
import NeuralNet

/// Accuracy of quantile forecasts, with the names GluonTS / AWS Forecast use (model.md, Metrics).
public struct AccuracyReport: Sendable, Codable {
    public var model: String
    public var quantiles: [Double]
    /// wQL[q] = 2·Σρ_q(y − ŷ_q) / Σ|y| over all products, FCTs and horizons.
    public var weightedQuantileLoss: [Double]
    public var meanWeightedQuantileLoss: Double
    /// Coverage per quantile, ties counted by the share the level implies: the share y < ŷ_q
    /// raised toward q by the ties (y = ŷ_q), at most to the share y ≤ ŷ_q. The true distribution
    /// of counts is calibrated under it (its q-quantile has P(y < ŷ) ≤ q ≤ P(y ≤ ŷ)); the plain
    /// share y ≤ ŷ_q is not (the oracle's P10 of sparse daily demand "covers" about half the cells).
    /// For a count (integral y) a forecast quantile is read as the count ⌊ŷ_q⌋: a network's P10 of
    /// 0.02 is the count 0, and y = 0 is a tie with it, not below it.
    public var coverage: [Double]
    /// The two shares the coverage lies between: y < ŷ_q and y ≤ ŷ_q.
    public var coverageBelow: [Double]
    public var coverageAtOrBelow: [Double]
    /// Mid coverage: ties count half. A tie is y = ŷ_q, or for a count (integral y) y = ⌊ŷ_q⌋.
    /// Counts cannot be covered at the nominal rate: every P10 in [0, 1) of Poisson(1.5) demand
    /// is exceeded by the same outcomes, so plain coverage is P(y = 0) = 0.22 however well the
    /// forecast is calibrated; with ties at half it is 0.11, near nominal.
    public var midCoverage: [Double]
    /// Σ|y − ŷ_P50| / Σ|y| (the median, or the middle quantile).
    public var wape: Double
    /// Mean absolute error of the median over the in-sample seasonal-naive MAE, averaged per product.
    public var mase: Double
    /// Mean |ŷ_{t,k} − ŷ_{t−1,k+1}| of the median over the mean |y|: how much successive forecasts
    /// of the same target period move.
    public var volatility: Double
    public var cells: Int
    public var byHorizon: [Double]
    /// mean wQL over the oracle's (simulated data with ground truth only).
    public var oracleRatio: Double? = nil
}

/// Collects forecasts and actuals and computes the report.
public struct AccuracyEvaluator {
    public let quantiles: [Double]
    public let horizons: Int
    public let season: Int
    /// product → period index → actual.
    public var actuals: [String: [Int64: Double]] = [:]
    /// product → FCT period index → H rows of Q values.
    public var forecasts: [String: [Int64: [[Float]]]] = [:]

    public init(quantiles: [Double], horizons: Int, season: Int) {
        self.quantiles = quantiles
        self.horizons = horizons
        self.season = season
    }

    /// Evaluates FCTs `fcts` (period indices), horizons 1..H each, for every product with actuals.
    public func report(model: String, fcts: [Int64]) -> AccuracyReport {
        let nq = quantiles.count
        let median = quantiles.firstIndex(of: 0.5) ?? nq / 2
        var loss = [Double](repeating: 0, count: nq), hits = [Int](repeating: 0, count: nq), below = hits
        var midHits = [Double](repeating: 0, count: nq)
        var lossByH = [Double](repeating: 0, count: horizons), absByH = [Double](repeating: 0, count: horizons)
        var absY = 0.0, absErr = 0.0, cells = 0
        var maseSum = 0.0, maseCount = 0
        var moves = 0.0, moveCount = 0
        let first = fcts.min() ?? 0
        for (product, ys) in actuals.sorted(by: { $0.key < $1.key }) {
            let fc = forecasts[product] ?? [:]
            var productAbsErr = 0.0, productCells = 0
            for t in fcts {
                let rows = fc[t]
                for k in 1...horizons {
                    guard let y = ys[t + Int64(k)] else { continue }
                    let q = rows.map { $0[k - 1].map(Double.init) } ?? Array(repeating: 0, count: nq)
                    for j in 0..<nq {
                        let u = y - q[j]
                        let l = PinballLoss.rho(quantiles[j], u)
                        loss[j] += l
                        lossByH[k - 1] += l / Double(nq)
                        if y <= q[j] { hits[j] += 1 }
                        if y < (y == y.rounded(.down) ? q[j].rounded(.down) : q[j]) { below[j] += 1 }
                        let tie = y == y.rounded(.down) ? y == q[j].rounded(.down) : y == q[j]
                        midHits[j] += tie ? 0.5 : y < q[j] ? 1 : 0
                    }
                    absY += abs(y)
                    absByH[k - 1] += abs(y)
                    absErr += abs(y - q[median])
                    productAbsErr += abs(y - q[median])
                    productCells += 1
                    cells += 1
                    if k < horizons, let previous = fc[t - 1] {
                        moves += abs(Double(q[median]) - Double(previous[k][median]))
                        moveCount += 1
                    }
                }
            }
            // In-sample seasonal-naive scale from the history before the first test FCT.
            var scale = 0.0, n = 0
            for (p, y) in ys where p <= first { if let back = ys[p - Int64(season)] { scale += abs(y - back); n += 1 } }
            if n > 0, scale > 0, productCells > 0 {
                maseSum += (productAbsErr / Double(productCells)) / (scale / Double(n))
                maseCount += 1
            }
        }
        let wql = loss.map { 2 * $0 / max(absY, 1e-12) }
        return AccuracyReport(
            model: model, quantiles: quantiles, weightedQuantileLoss: wql,
            meanWeightedQuantileLoss: wql.reduce(0, +) / Double(nq),
            coverage: quantiles.indices.map { j in
                min(max(quantiles[j], Double(below[j]) / Double(max(cells, 1))), Double(hits[j]) / Double(max(cells, 1)))
            },
            coverageBelow: below.map { Double($0) / Double(max(cells, 1)) },
            coverageAtOrBelow: hits.map { Double($0) / Double(max(cells, 1)) },
            midCoverage: midHits.map { $0 / Double(max(cells, 1)) },
            wape: absErr / max(absY, 1e-12), mase: maseCount > 0 ? maseSum / Double(maseCount) : .nan,
            volatility: moveCount > 0 ? (moves / Double(moveCount)) / max(absY / Double(max(cells, 1)), 1e-12) : 0,
            cells: cells, byHorizon: zip(lossByH, absByH).map { 2 * $0 / max($1, 1e-12) })
    }
}
