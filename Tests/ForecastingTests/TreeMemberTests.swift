import Boosting
import Foundation
@testable import Forecasting
import NeuralNet
import Testing
import Windows

/// The gradient-boosted trees beside the network: grown on the network's inputs, mixed in where
/// the held-out tail says so, stored in the model file and served the same after loading.
@Suite struct TreeMemberTests {
    init() { BLAS.useOneThread() }

    static let cutoff: Int64 = 2_800 + 60

    /// Trees grown on MQTrainerTests' 60 weekly products (a level each, a 4-week cycle).
    static func grow(rounds: Int) throws -> (MQTrainer, [Booster]) {
        let c = MQTrainerTests.config
        let trainer = MQTrainer(network: MQNetwork(c, seed: 3), features: FeatureBuilder(config: c, period: .week, holidays: []), learningRate: 5e-3)
        var s = QuantileBoosting.Settings()
        s.maxRounds = rounds
        s.minLeafWeight = 10
        s.threads = 1
        return (trainer, try #require(try trainer.trainTrees(MQTrainerTests.series, cutoff: cutoff, settings: s)))
    }

    @Test func treesLearnTheProductsLevelsAndCycle() throws {
        let (trainer, grown) = try Self.grow(rounds: 150)
        let (_, untrained) = try Self.grow(rounds: 1)
        func heldOutLoss(_ boosters: [Booster]) throws -> Double {
            let cells = try trainer.heldOutCells(MQTrainerTests.series, cutoff: Self.cutoff, trees: boosters)
            #expect(cells.trees.count == cells.actuals.count && !cells.actuals.isEmpty)
            let levels: [Float] = [0.1, 0.5, 0.9]
            return cells.actuals.indices.reduce(0) { total, i in
                total + levels.indices.reduce(0) { $0 + Double(PinballLoss.rho(levels[$1], cells.actuals[i] - cells.trees[i][$1])) }
            }
        }
        // Grown trees read each product's level and its place in the cycle: far below one round.
        let grownLoss = try heldOutLoss(grown), startLoss = try heldOutLoss(untrained)
        #expect(grownLoss < 0.5 * startLoss, "held-out pinball \(grownLoss) vs \(startLoss) after one round")
    }

    @Test func theMixIsFittedWhereTheTreesAreClearlyBetter() {
        // The served P50 is 2 off on every cell, the trees' 1 off: μ = 1 for it; the trees' P10 and
        // P90 are worse than the served ones: μ = 0 there.
        let actuals: [Float] = (0..<200).map { Float(10 + $0 % 3) }
        let served = actuals.map { [$0 - 3, $0 - 2, $0 + 3] }, trees = actuals.map { [$0 - 8, $0 - 1, $0 + 9] }
        let mix = TreeMember.fitMix(served: served, trees: trees, actuals: actuals, products: Array(0..<200), quantiles: [0.1, 0.5, 0.9])
        #expect(mix?[1] ?? 0 >= 0.9 && mix?[0] == 0 && mix?[2] == 0, "\(String(describing: mix))")
        // Trees off on the same side as the served quantiles, and further: no mix helps.
        #expect(TreeMember.fitMix(served: served, trees: actuals.map { [$0 - 5, $0 - 4, $0 + 5] }, actuals: actuals, products: Array(0..<200),
                                  quantiles: [0.1, 0.5, 0.9]) == nil)
    }

    @Test func plannedPricesReachTheTreesThroughTheNetworksFactor() throws {
        var c = MQTrainerTests.config
        c.priceElasticity = true
        let network = MQNetwork(c, seed: 4)
        let features = FeatureBuilder(config: c, period: .week, holidays: [])
        let series = MQTrainerTests.series[0], t = 50
        func batch(_ factor: Float) -> (MQBatch, [Float]) {
            features.batch([(series, t, Array(repeating: (series.price[t] * factor, Float(0)), count: c.horizons), nil)])
        }
        let ws = network.workspace()
        let (same, _) = batch(1), (dearer, _) = batch(1.2), (cheaper, _) = batch(0.8)
        let unchanged = try #require(TreeMember.priceFactors(network, same, ws))
        let up = try #require(TreeMember.priceFactors(network, dearer, ws)), down = try #require(TreeMember.priceFactors(network, cheaper, ws))
        #expect(unchanged.allSatisfy { $0 == 1 })
        #expect(up.allSatisfy { $0 < 1 } && down.allSatisfy { $0 > 1 }, "\(up) \(down)")
        // The trees read no planned price themselves: the same rows at any planned price.
        #expect(TreeMember.rows(same, scales: [2], config: c) == TreeMember.rows(dearer, scales: [2], config: c))
        // Without the elasticity there is no factor.
        #expect(TreeMember.priceFactors(MQNetwork(MQTrainerTests.config, seed: 4), same, MQNetwork(MQTrainerTests.config, seed: 4).workspace()) == nil)
    }

    @Test func theModelFileKeepsTheTreesAndServesThemTheSame() throws {
        let (_, boosters) = try Self.grow(rounds: 30)
        let c = MQTrainerTests.config
        var model = MQModel(network: MQNetwork(c, seed: 5), period: .week, holidays: [], id: "trees")
        let plain = model
        model.trees = TreeMember(boosters: boosters, mix: [0.2, 0.5, 1])
        let path = NSTemporaryDirectory() + "trees-\(UUID().uuidString).safetensors"
        try model.save(to: path)
        let loaded = try MQModel.load(from: path)
        #expect(loaded.trees?.mix == [0.2, 0.5, 1])
        #expect(loaded.weightsDigest == model.weightsDigest && loaded.weightsDigest != plain.weightsDigest)
        let windows = (0..<5).map { window(MQTrainerTests.series[$0].units, length: 64) }
        func serve(_ m: MQModel) -> [[[Float]]] {
            var states = windows.map { _ in [UInt8]() }
            return m.forecaster().forecastBatch(windows, horizons: 3, quantiles: [0.1, 0.5, 0.9], states: &states)
        }
        let before = serve(model), after = serve(loaded), networkOnly = serve(plain)
        #expect(before == after)
        // What is served is the network's quantiles mixed with the trees', μ per quantile.
        let features = FeatureBuilder(config: c, period: .week, holidays: [])
        let (x, scales) = features.batch(windows.map { let i = model.input($0); return (i.series, i.t, i.future, nil) })
        let treeValues = try model.trees!.forecast(x, scales: scales, factors: nil, config: c)
        for b in windows.indices {
            for k in 0..<3 {
                let expected = (0..<3).map { j in model.trees!.apply(networkOnly[b][k][j], treeValues[b * 3 + k][j], column: j) }.sorted()
                #expect(zip(before[b][k], expected).allSatisfy { abs($0 - $1) < 1e-4 }, "\(before[b][k]) vs \(expected)")
            }
        }
        // A mix outside [0, 1] is refused with the key named.
        var bytes = try Data(contentsOf: URL(fileURLWithPath: path))
        let range = try #require(bytes.range(of: Data("0.2,0.5,1.0".utf8)))
        bytes.replaceSubrange(range, with: Data("0.2,0.5,1.5".utf8))
        try bytes.write(to: URL(fileURLWithPath: path))
        #expect(throws: (any Error).self) { try MQModel.load(from: path) }
        do { _ = try MQModel.load(from: path) } catch { #expect("\(error)".contains("tree_mix")) }
    }
}
