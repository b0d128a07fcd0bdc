import Foundation
import NeuralNet

public struct TrainingConfig: Sendable {
    public var epochs = 20
    public var batchSize = 128
    public var learningRate: Float = 2e-3
    public var examplesPerEpoch = 40_000
    public var baseLossWeight: Float = 0.5
    public var patience = 3
    /// Early stopping waits for at least this many steps: the kept weights are an average over
    /// the last ~1/(1 − averagingDecay) steps, so on a small data set (few steps per epoch) the
    /// first epochs' held-out losses describe weights still catching up, and a short held-out
    /// tail makes them noisy besides.
    public var minimumSteps = 2_000
    /// The learning rate decays along a cosine to this fraction of itself at the last epoch.
    public var finalLearningRateFraction: Float = 0.1
    /// Decay of the weight average that is validated and kept (0: keep the raw weights).
    public var averagingDecay: Float = 0.998
    /// Hold the last H FCTs out for early stopping (true), or train on them too for the full
    /// `epochs` and keep the last averaged weights (false): the most recent periods are then
    /// learned from instead of only validated on.
    public var holdOut = true
    /// λ of the forecast-stability penalty on the final median (`StabilityPenalty`): how much a
    /// forecast may move from the previous FCT's forecast of the same target. 0: none.
    public var stabilityWeight: Float = 0
    public var seed: UInt64 = 1
    public init() {}
}

/// Trains an MQNetwork on the pinball loss over horizons and quantiles.
///
/// Examples are (product, FCT) pairs over each product's history (every period is a forecast
/// creation time, as with forking sequences). The error memory enters as data: the base medians
/// the network produces for the same product's previous R FCTs, turned into scaled errors
/// wherever their target period is already known at the FCT. The base forecast does not depend
/// on the memory, so before each epoch one forward-only pass computes it for every FCT the
/// epoch's examples remember: the memory is always full, as it is when serving (a memory that is
/// mostly empty in training teaches the network to ignore it). The last H FCTs before the cutoff
/// are held out for early stopping; the best weights are kept.
public final class MQTrainer {
    public let network: MQNetwork
    public let features: FeatureBuilder
    let adam: Adam
    let baseLearningRate: Float
    /// What ErrorMemory keeps of each forecast (base, and with memoryForecasts final medians; in
    /// units) by series index and FCT index.
    var baseForecasts: [Int: [Int: [Float]]] = [:]
    /// Final medians (units) by series index and FCT index: the anchors of the stability penalty,
    /// kept here only where the memory entries do not already hold them (`anchorMedians`).
    var finalMedians: [Int: [Int: [Float]]] = [:]
    /// λ of the stability penalty in the current `train` (0: none, and no final medians kept).
    var stabilityWeight: Float = 0
    let errorMemory: ErrorMemory

    /// One workspace per core (data-parallel steps share the network's weights).
    let workspaces: [MQNetwork.Workspace]

    /// `threads`: cores the steps are split over.
    public init(network: MQNetwork, features: FeatureBuilder, learningRate: Float, threads: Int = 1) {
        self.network = network
        self.features = features
        errorMemory = ErrorMemory(config: network.config)
        adam = Adam(learningRate: learningRate, clipNorm: 1)
        baseLearningRate = learningRate
        workspaces = (0..<max(1, threads)).map { _ in network.workspace() }
    }

    public struct EpochReport: Sendable { public var epoch: Int; public var trainLoss: Double; public var validationLoss: Double; public var seconds: Double }

    /// The memory entries of (series, t): the R previous FCTs' errors, newest first.
    func memory(_ index: Int, _ s: ProductSeries, t: Int, scale: Float) -> [[Float]] {
        (1...network.config.memory).map { j in
            guard let base = baseForecasts[index]?[t - j] else { return errorMemory.empty }
            return errorMemory.input(base: base, age: j, scale: scale) { k in
                let target = t - j + 1 + k
                return target <= t && target < s.units.count ? s.units[target] : nil
            }
        }
    }

    /// Records what the memory keeps of these (series, FCT) pairs' forecasts with the current
    /// weights (and their final medians, for the stability penalty): forward only. Pairs in FCT
    /// order; a chunk holds one FCT, so a pair's memory holds the forecasts just made for the
    /// FCTs before it (past forecasts are inputs with memoryForecasts; the base forecast does not
    /// depend on the memory).
    func refreshBaseForecasts(_ pairs: [(Int, Int)], series: [ProductSeries]) {
        guard network.config.useFeedback || stabilityWeight > 0 else { return }
        let network = network, workspaces = workspaces, features = features, errorMemory = errorMemory, anchored = stabilityWeight > 0
        let separateAnchors = keepsSeparateAnchors
        // Only the final forecast depends on the memory; build memory inputs only when it is kept.
        let finalKept = network.config.memoryForecasts || anchored
        var chunks: [[(Int, Int)]] = []
        for pair in pairs {
            if let last = chunks.last?.last, last.1 == pair.1, chunks[chunks.count - 1].count < 512 {
                chunks[chunks.count - 1].append(pair)
            } else {
                chunks.append([pair])
            }
        }
        for chunk in chunks {
            let inputs = chunk.map { finalKept ? example($0.0, series[$0.0], t: $0.1).input : (series[$0.0], $0.1, nil, nil) }
            let parts = inParallelParts(count: chunk.count, parts: workspaces.count) { part, range in
                let (x, scales) = features.batch(Array(inputs[range]))
                let (final, base) = network.forward(x, workspaces[part])
                return Self.leftovers(errorMemory, base: base, final: final, scales: scales, separateAnchors: separateAnchors)
            }
            for (range, results) in parts {
                for (e, (i, t)) in chunk[range].enumerated() { record(i, t, results[e]) }
            }
        }
    }

    /// Whether the memory entries keep the final medians (then they are the stability anchors).
    var entriesKeepFinals: Bool { network.config.useFeedback && network.config.memoryForecasts }
    /// Whether the stability anchors need `finalMedians` (a penalty, and entries that do not hold them).
    var keepsSeparateAnchors: Bool { stabilityWeight > 0 && !entriesKeepFinals }

    /// What each example of a forward pass leaves for later FCTs (`record`): its memory entry and,
    /// with `separateAnchors`, its final medians.
    static func leftovers(_ memory: ErrorMemory, base: Matrix, final: Matrix, scales: [Float],
                          separateAnchors: Bool) -> [(kept: [Float], medians: [Float])] {
        scales.indices.map { e in
            (kept: memory.keep(base: base, final: final, example: e, scale: scales[e]),
             medians: separateAnchors ? memory.finalMedians(final, example: e, scale: scales[e]) : [])
        }
    }

    /// Stores what one forecast leaves for later FCTs.
    func record(_ i: Int, _ t: Int, _ r: (kept: [Float], medians: [Float])) {
        if network.config.useFeedback { baseForecasts[i, default: [:]][t] = r.kept }
        if keepsSeparateAnchors { finalMedians[i, default: [:]][t] = r.medians }
    }

    /// Series i's final medians at FCT t (units), if recorded: the stability penalty's anchors.
    func anchorMedians(_ i: Int, _ t: Int) -> [Float]? {
        guard entriesKeepFinals else { return finalMedians[i]?[t] }
        return baseForecasts[i]?[t].map { Array($0[network.config.memoryBaseForecastWidth...]) }
    }

    /// The FCTs whose base forecasts the memories of these examples hold.
    func remembered(_ examples: [(Int, Int)]) -> [(Int, Int)] {
        var seen = Set<Int>(), out: [(Int, Int)] = []
        for (i, t) in examples {
            for j in 1...network.config.memory where t - j >= 0 && seen.insert(i << 20 | (t - j)).inserted { out.append((i, t - j)) }
        }
        return out.sorted { ($0.1, $0.0) < ($1.1, $1.0) }
    }

    /// The network input of (series, FCT t) as training sees it (no future-price override; the
    /// error memory from the recorded base forecasts), and the series' scale at t.
    func example(_ index: Int, _ s: ProductSeries, t: Int) -> (input: (series: ProductSeries, t: Int, futurePrices: [(Float, Float)]?, memory: [[Float]]?), scale: Float) {
        let scale = features.scale(s, fct: t)
        return ((s, t, nil, network.config.useFeedback ? memory(index, s, t: t, scale: scale) : nil), scale)
    }

    /// Runs one batch; returns the loss (normalised by Σ|y|) and, when training, updates weights.
    /// Data-parallel over the cores: each core runs forward and backward on a contiguous part of
    /// the batch in its own workspace (the loss normaliser is the whole batch's), the workspaces'
    /// gradients are added in part order, then one Adam step. The same seed and thread count give
    /// the same model.
    /// `baseWeight`: the base forecast's (no-feedback) pinball loss weight relative to the final one's.
    func step(_ batch: [(index: Int, series: ProductSeries, t: Int)], train: Bool, baseWeight: Float) -> (loss: Double, absY: Double) {
        let c = network.config, H = c.horizons
        let q = c.quantiles.map(Float.init)
        var inputs: [(series: ProductSeries, t: Int, futurePrices: [(Float, Float)]?, memory: [[Float]]?)] = []
        var targets = [Float](), weights = [Float](), anchors = [Float]()
        var absY: Float = 0
        for ex in batch {
            let (input, scale) = example(ex.index, ex.series, t: ex.t)
            inputs.append(input)
            // The previous FCT's final median of each target (its horizon k + 1), in units of s.
            let previous = stabilityWeight > 0 ? anchorMedians(ex.index, ex.t - 1) : nil
            anchors += (0..<H).map { k in previous.map { k + 1 < H ? $0[k + 1] / scale : .nan } ?? .nan }
            for k in 0..<H {
                let i = ex.t + 1 + k
                let y = i < ex.series.units.count ? ex.series.units[i] : 0
                targets.append(y / scale)
                weights.append(i < ex.series.units.count ? scale : 0)
                absY += abs(y)
            }
        }
        let norm = max(absY, 1)
        let network = network, workspaces = workspaces, features = features, errorMemory = errorMemory, lambda = stabilityWeight
        let median = network.head.median, separateAnchors = keepsSeparateAnchors
        let parts = inParallelParts(count: batch.count, parts: min(workspaces.count, batch.count / 16)) { part, range in
            let ws = workspaces[part]
            let (x, scales) = features.batch(Array(inputs[range]))
            let (final, base) = network.forward(x, ws)
            let rows = (range.lowerBound * H)..<(range.upperBound * H)
            let t = Array(targets[rows]), w = Array(weights[rows])
            var f = PinballLoss.evaluate(final, targets: t, quantiles: q, weights: w, normalizer: norm)
            if lambda > 0 {
                _ = StabilityPenalty.evaluate(final, column: median, anchors: Array(anchors[rows]), weight: lambda, weights: w,
                                              normalizer: norm, into: &f.gradient)
            }
            let b = PinballLoss.evaluate(base, targets: t, quantiles: q, weights: w.map { $0 * baseWeight }, normalizer: norm)
            if train { network.backward(final: f.gradient, base: b.gradient, ws) }
            return (loss: f.loss, kept: Self.leftovers(errorMemory, base: base, final: final, scales: scales, separateAnchors: separateAnchors))
        }
        var loss: Float = 0
        for (range, r) in parts {
            loss += r.loss
            for (e, ex) in batch[range].enumerated() { record(ex.index, ex.t, r.kept[e]) }
        }
        if train {
            Parameter.accumulate(workspaces.prefix(parts.count).map { $0.takeGradients() }, into: network.parameters)
            adam.update(network.parameters)
        }
        return (Double(loss) * Double(norm), Double(absY))
    }

    /// One pass over `pairs` in batches; returns Σ loss and Σ|y|. `afterStep` runs after each batch.
    func pass(_ pairs: [(Int, Int)], series: [ProductSeries], batchSize: Int, train: Bool, baseWeight: Float,
              afterStep: () -> Void) -> (loss: Double, absY: Double) {
        var loss = 0.0, absY = 0.0
        for from in stride(from: 0, to: pairs.count, by: batchSize) {
            let chunk = pairs[from..<min(from + batchSize, pairs.count)].map { (index: $0.0, series: series[$0.0], t: $0.1) }
            let r = step(chunk, train: train, baseWeight: baseWeight)
            afterStep()
            loss += r.loss
            absY += r.absY
        }
        return (loss, absY)
    }

    /// The (series, FCT index) pairs whose targets end at or before `cutoff`; with `holdOut`, those
    /// whose targets reach into the last H periods are the validation set.
    func split(_ series: [ProductSeries], cutoff: Int64, holdOut: Bool) -> (train: [(Int, Int)], validation: [(Int, Int)]) {
        let H = network.config.horizons
        var trainSet: [(Int, Int)] = [], validation: [(Int, Int)] = []
        for (i, s) in series.enumerated() {
            let last = Int(cutoff - s.firstPeriod)  // index of the cutoff period
            let upper = min(last - H, s.units.count - 1 - H)
            guard upper >= 0 else { continue }  // too short, or starts after the cutoff
            for t in 0...upper {
                if holdOut && t + H > last - H { validation.append((i, t)) } else { trainSet.append((i, t)) }
            }
        }
        return (trainSet, validation)
    }

    /// Trains on FCTs whose targets end at or before `cutoff` (a period index; the first test FCT).
    public func train(_ series: [ProductSeries], cutoff: Int64, config: TrainingConfig, progress: (EpochReport) -> Void) {
        let (trainSet, validation) = split(series, cutoff: cutoff, holdOut: config.holdOut)
        stabilityWeight = config.stabilityWeight
        var rng = Initializer(seed: config.seed)
        var best = Double.infinity, bestWeights = network.parameters.map(\.value), stale = 0, steps = 0
        let average = config.averagingDecay > 0 ? WeightAverage(network.parameters, decay: config.averagingDecay) : nil
        for epoch in 1...config.epochs {
            let started = Date()
            adam.learningRate = cosineLearningRate(base: baseLearningRate, epoch: epoch, of: config.epochs,
                                                   floor: config.finalLearningRateFraction)
            // A seeded sample of the training examples, in FCT order within the epoch so that
            // the error memory of a product's earlier FCTs is mostly filled in.
            var sample = trainSet
            if sample.count > config.examplesPerEpoch {
                for i in 0..<config.examplesPerEpoch {
                    let j = i + Int(rng.next() % UInt64(sample.count - i))
                    sample.swapAt(i, j)
                }
                sample = Array(sample.prefix(config.examplesPerEpoch))
            }
            sample.sort { ($0.1, $0.0) < ($1.1, $1.0) }
            refreshBaseForecasts(remembered(sample), series: series)
            let trained = pass(sample, series: series, batchSize: config.batchSize, train: true, baseWeight: config.baseLossWeight) {
                average?.update(network.parameters)
                steps += 1
            }
            // Validate the averaged weights (swapped in, and back out after).
            average?.swap(into: network.parameters)
            refreshBaseForecasts(remembered(validation), series: series)
            let heldOut = pass(validation, series: series, batchSize: 512, train: false, baseWeight: config.baseLossWeight) {}
            let kept = network.parameters.map(\.value)
            average?.swap(into: network.parameters)
            // 2·Σρ/Σ|y| averaged over quantiles: the mean wQL of the scaled-back forecasts.
            let nq = Double(network.config.quantiles.count)
            let report = EpochReport(epoch: epoch, trainLoss: 2 * trained.loss / max(trained.absY, 1) / nq,
                                     validationLoss: config.holdOut ? 2 * heldOut.loss / max(heldOut.absY, 1) / nq : .nan,
                                     seconds: Date().timeIntervalSince(started))
            progress(report)
            if !config.holdOut {
                bestWeights = kept
            } else if report.validationLoss < best - 1e-5 {
                best = report.validationLoss
                bestWeights = kept
                stale = 0
            } else {
                stale += 1
                if stale >= config.patience && steps >= config.minimumSteps { break }
            }
        }
        for (p, w) in zip(network.parameters, bestWeights) { p.value = w }
    }
}
