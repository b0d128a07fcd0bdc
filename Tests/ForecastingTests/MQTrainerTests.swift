@testable import Forecasting
import NeuralNet
import Testing

/// The trainer: deterministic for a seed and thread count, learning on a series it can fit, and
/// its data-parallel parts computing what one thread computes.
@Suite struct MQTrainerTests {
    /// As the streamcast process does at its start (BLAS.useOneThread says why).
    init() { BLAS.useOneThread() }

    static let config: MQConfig = {
        var c = MQConfig()
        c.horizons = 3
        c.context = 12
        return c
    }()

    /// 60 weekly products: a level per product, a 4-week cycle, deterministic noise.
    static let series: [ProductSeries] = (0..<60).map { i in
        let units = (0..<70).map { t in Float(5 + i % 7) * (1 + 0.5 * Float([0, 1, 0, -1][t % 4])) + Float((i * 13 + t * 7) % 5) }
        return ProductSeries(product: "p\(i)", category: i % 4, firstPeriod: 2_800, units: units,
                             views: units.map { $0 * 3 }, price: units.map { _ in 1 }, promo: units.map { _ in 0 })
    }

    static func train(threads: Int, epochs: Int = 3, holdOut: Bool = true, patience: Int? = nil, minimumSteps: Int = 2_000,
                      config: MQConfig = config, stability: Float = 0, learningRate: Float = 5e-3) -> (MQNetwork, [MQTrainer.EpochReport]) {
        let network = MQNetwork(config, seed: 3)
        let trainer = MQTrainer(network: network, features: FeatureBuilder(config: config, period: .week, holidays: []),
                                learningRate: learningRate, threads: threads)
        var t = TrainingConfig()
        t.epochs = epochs
        t.patience = patience ?? epochs
        t.minimumSteps = minimumSteps
        t.holdOut = holdOut
        t.examplesPerEpoch = 1_500
        t.seed = 9
        t.stabilityWeight = stability
        var reports: [MQTrainer.EpochReport] = []
        trainer.train(series, cutoff: 2_800 + 60, config: t) { reports.append($0) }
        return (network, reports)
    }

    @Test func sameSeedAndThreadsGiveTheSameWeightsAndTheLossFalls() {
        let (a, reports) = Self.train(threads: 2)
        let (b, _) = Self.train(threads: 2)
        #expect(zip(a.parameters, b.parameters).allSatisfy { $0.value == $1.value })
        #expect(reports.count == 3)
        #expect(reports.last!.validationLoss < reports.first!.validationLoss)
        #expect(reports.last!.trainLoss < reports.first!.trainLoss)
    }

    /// With a learning rate of 0 the held-out loss never improves after the first epoch: patience 1
    /// stops the run at epoch 2 unless the step budget (12 steps per epoch here) is not spent yet.
    @Test func earlyStoppingWaitsForTheStepBudget() {
        let (_, stopped) = Self.train(threads: 1, epochs: 6, patience: 1, minimumSteps: 0, learningRate: 0)
        #expect(stopped.count == 2)
        let (_, waited) = Self.train(threads: 1, epochs: 6, patience: 1, minimumSteps: 40, learningRate: 0)
        #expect(waited.count == 4, "12 steps an epoch: the fourth epoch passes 40 steps")
    }

    @Test func theQuantileMemoryTrainsAndRemembersEveryQuantile() {
        var c = Self.config
        c.memoryQuantiles = true
        let (network, reports) = Self.train(threads: 2, config: c)
        #expect(reports.count == 3 && reports.last!.validationLoss < reports.first!.validationLoss)
        let trainer = MQTrainer(network: network, features: FeatureBuilder(config: c, period: .week, holidays: []), learningRate: 1e-3)
        trainer.refreshBaseForecasts([(0, 30)], series: Self.series)
        let kept = try! #require(trainer.baseForecasts[0]?[30])
        #expect(kept.count == 3 * 3)  // H × Q
        for k in 0..<3 { #expect(kept[3 * k] <= kept[3 * k + 1] && kept[3 * k + 1] <= kept[3 * k + 2]) }
        // The memory input at the next FCT: 2H + H × Q values; only horizon 1 has closed, its signals
        // are q (exceeded) or −(1 − q) per quantile, the other horizons' stay 0.
        let input = trainer.memory(0, Self.series[0], t: 31, scale: 1)[0]
        #expect(input.count == 2 * 3 + 3 * 3 && input[3] == 1 && input[4] == 0 && input[5] == 0)
        for (j, q) in [Float(0.1), 0.5, 0.9].enumerated() { #expect(abs(input[6 + j] - q) < 1e-6 || abs(input[6 + j] - (q - 1)) < 1e-6) }
        #expect(input[9...].allSatisfy { $0 == 0 })
    }

    /// The stability penalty with the past forecasts in the memory: successive forecasts of the
    /// same target move less than those of the same model trained without it.
    @Test func theStabilityPenaltyMakesRevisionsSmaller() {
        var c = Self.config
        c.memoryForecasts = true
        func revisions(stability: Float) -> Double {
            let (network, _) = Self.train(threads: 2, epochs: 6, config: c, stability: stability)
            let trainer = MQTrainer(network: network, features: FeatureBuilder(config: c, period: .week, holidays: []), learningRate: 1e-3)
            trainer.stabilityWeight = 1  // (only to record the final medians)
            let pairs = (12..<66).flatMap { t in Self.series.indices.map { ($0, t) } }
            trainer.refreshBaseForecasts(pairs, series: Self.series)
            var moves = 0.0, n = 0
            for i in Self.series.indices {
                for t in 40..<66 {
                    let now = trainer.anchorMedians(i, t)!, before = trainer.anchorMedians(i, t - 1)!
                    for k in 0..<2 { moves += Double(abs(now[k] - before[k + 1])); n += 1 }
                }
            }
            // The memory entries hold the final medians, after the base's, and are the only copy.
            #expect(trainer.baseForecasts[0]![30]!.count == 6 && trainer.anchorMedians(0, 30)! == Array(trainer.baseForecasts[0]![30]![3...]))
            #expect(trainer.finalMedians.isEmpty)
            return moves / Double(n)
        }
        let free = revisions(stability: 0), steady = revisions(stability: 0.4)
        #expect(steady < 0.9 * free, "mean revision \(steady) with the penalty, \(free) without")
    }

    @Test func withoutHoldOutEveryEpochRunsAndTheLastAverageIsKept() {
        let (network, reports) = Self.train(threads: 1, epochs: 3, holdOut: false, patience: 1)
        #expect(reports.count == 3)  // patience 1 would have stopped a held-out run whose loss stalled
        #expect(reports.allSatisfy { $0.validationLoss.isNaN })
        let (held, _) = Self.train(threads: 1, epochs: 3)
        #expect(!zip(network.parameters, held.parameters).allSatisfy { $0.value == $1.value })  // the tail was trained on
    }

    @Test func parallelBaseForecastRefreshMatchesOneThreadBitForBit() {
        let features = FeatureBuilder(config: Self.config, period: .week, holidays: [])
        let one = MQTrainer(network: MQNetwork(Self.config, seed: 5), features: features, learningRate: 1e-3, threads: 1)
        let two = MQTrainer(network: MQNetwork(Self.config, seed: 5), features: features, learningRate: 1e-3, threads: 2)
        let pairs = (0..<Self.series.count).flatMap { i in stride(from: 12, to: 60, by: 5).map { (i, $0) } }  // 600: > one 512 chunk
        one.refreshBaseForecasts(pairs, series: Self.series)
        two.refreshBaseForecasts(pairs, series: Self.series)
        #expect(one.baseForecasts.values.reduce(0) { $0 + $1.count } == pairs.count)
        #expect(one.baseForecasts == two.baseForecasts)
    }
}
