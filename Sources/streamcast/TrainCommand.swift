import ArgumentParser
import Boosting
import Events
import Forecasting
import NeuralNet
import Foundation
import Pipeline
import Windows

/// `streamcast train`: fits the feedback-aware MQ model on replay logs, writes a safetensors file.
struct TrainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Train the neural forecaster on replay files and write a model file for run, replay and backtest.",
        discussion: """
            The defaults make the best model StreamCast knows how to make; the other options are for \
            experiments. The last --test-fcts forecast creation times are left out (so a backtest on \
            them is honest), and the last --horizons FCTs before them are held out for early stopping \
            and for fitting the serving choices stored in the model file (the empirical blend, the trees' \
            mix, count rounding).
            """)

    @Option(help: "Replay file to learn from (repeatable: several logs train one model).") var replay: [String]
    @Option(help: "Model file to write (safetensors).") var out: String
    @Option(help: "Period: hour, day, week or month.") var period = "day"
    @Option(help: "Horizons H: how many periods ahead each forecast reaches.") var horizons = 14
    @Option(help: "Quantile levels the network learns, increasing in (0, 1) (the service serves any of them; orders at a high critical ratio read the highest, docs/decisions.md).") var quantiles = "0.1,0.5,0.9"
    @Option(help: "Context length L: how many past periods the network reads per forecast (default: 24 for months, 32 otherwise).") var context: Int?
    @Option(help: "Leave the last K forecast creation times (and their horizons) out of training, for an honest backtest; 0 trains on everything.") var testFcts = 8
    @Option(help: "Holiday/event calendar (TOML, as Config/calendar.toml; repeatable): the network sees which periods hold an event. Default: Config/calendar.toml when present.") var calendar: [String] = []
    @Flag(help: "Use no holiday/event calendar (not even Config/calendar.toml).") var noCalendar = false
    @Flag(inversion: .prefixedNo, help: "Give each named calendar event its own inputs (its day in the target period, its day in the week after), so each gets its own effect; without it the network sees one holiday flag for all.") var eventFeatures = true
    @Option(help: "Most passes over the examples (early stopping on the held-out tail may stop sooner).") var epochs = 20
    @Option(help: "Early stopping: epochs without a better held-out loss before stopping (the best weights are kept), once at least --minimum-steps steps are done.") var patience = 3
    @Option(help: "Training steps (batches) before early stopping may stop: small data sets then still train long enough for the weight average to settle.") var minimumSteps = 2_000
    @Option(help: "Examples (product, FCT) drawn per epoch.") var examples = 40_000
    @Option(help: "Networks trained (seeds --seed, --seed + 1, …): the model serves their quantile average, which is steadier than any one of them.") var networks = 3
    @Option(help: "Random seed: the same seed, data and --threads give the same model, byte for byte.") var seed: UInt64 = 1
    @Option(help: "Cores to train on (data-parallel; the model depends on this number too).") var threads = 2
    @Option(help: "Network: full (with the error memory), no-feedback (without it) or mqcnn (neither it nor attention over the context); for ablations.") var variant = "full"
    @Flag(help: "Train on the held-out tail too, for all --epochs, and keep the last averaged weights (no early stopping).") var noHoldout = false
    @Option(help: "Error memory R: how many past forecasts' errors the feedback attention sees (default 4).") var memory: Int?
    @Flag(help: "Error memory entries also say, per quantile, whether the actual exceeded the past base quantile (not just the median's error; docs/online.md).") var memoryQuantiles = false
    @Flag(help: "Error memory entries also say how old they are, so the attention can weigh recent errors more (docs/online.md).") var memoryAge = false
    @Flag(help: "Error memory entries also hold the forecasts they made of the current targets, so the network can keep a new forecast near its last ones (use with --stability; docs/online.md).") var memoryForecasts = false
    @Option(help: "Forecast-stability penalty λ on the final median: λ·|ŷ − the previous FCT's forecast of the same target| joins the loss (a dead band: the median moves only when the previous one falls outside its (0.5 ± λ) quantiles). 0 = none; must be < 0.5.") var stability: Float = 0
    @Option(help: "Category embedding rows (default 64; categories hash into them, so fewer rows than categories share rows).") var categories: Int?
    @Option(help: "Encoder channels C (default 16).") var channels: Int?
    @Option(help: "Decoder width d (default 16; a multiple of the 2 attention heads).") var decoder: Int?
    @Option(help: "Learning rate at the last epoch, as a fraction of the first (cosine decay; 1 = constant).") var finalLr: Float = 0.1
    @Option(help: "Weight of the base forecast's loss (the forecast without the error memory) against the final forecast's.") var baseLossWeight: Float = 0.5
    @Option(help: "Decay of the weight average that is validated and kept (0 = keep the raw weights).") var averaging: Float = 0.998
    @Flag(help: "Feed the series' level, log1p(scale)/10, as a 7th input per context step (the inputs are otherwise scale-free; helps where noise depends on volume, docs/accuracy.md).") var levelInput = false
    @Flag(inversion: .prefixedNo, help: "Let a target's price act as a constant-elasticity factor, every quantile times (target price / price now)^β with each product's β ≤ 0 learned from its history (docs/model.md), instead of as one more network input: a planned price change then moves the forecast as demand economics expects, never upward for a rise.") var priceElasticity = true
    @Flag(inversion: .prefixedNo, help: "With the price elasticity: a promotion's own lift beyond its price cut as a second factor beside it, learned per product, instead of the promotion flag as a network input (docs/model.md). Unset: where promotions cut the price, chosen on the held-out tail — the lift unless the flag as an input is better there by more than 1 %; where they do not (e.g. markdown flags at an unchanged price), the flag.") var promoLift: Bool?
    @Flag(inversion: .prefixedNo, help: "Tell the network per target whether a season-ago value exists (without it a missing one reads as a zero sale).") var seasonFlag = true
    @Flag(inversion: .prefixedNo, help: "Serve each quantile as a mix of the network's and the product's own empirical quantile of its recent periods, the lookback and mix fitted on the held-out tail; kept only where it beats the network there (docs/model.md). Needs the held-out tail (not with --no-holdout).") var empiricalBlend = true
    @Flag(inversion: .prefixedNo, help: "Grow gradient-boosted trees (XGBoost, pinball loss, one per quantile) on the network's inputs and serve each quantile as a mix of the networks' and the trees', the mix fitted on the held-out tail; stored only where they add a clear gain there (docs/model.md). Needs the held-out tail; not with --count-rounding.") var trees = true
    @Option(help: "Most rows (example × horizon) the trees are grown on (an even sample of the training examples).") var treeRows = 600_000
    @Option(help: "The trees' learning rate (shrinkage per round).") var treeLearningRate: Float = QuantileBoosting.Settings().learningRate
    @Option(help: "Most rounds of trees per quantile (early stopping on the held-out tail usually stops sooner).") var treeRounds = QuantileBoosting.Settings().maxRounds
    @Flag(help: "For count data (every period's demand a whole number): serve quantiles in whole units, or in whole packs where products sell in packs (whichever fits the held-out tail better), rounded at points fitted there (docs/model.md).") var countRounding = false

    /// Context by period, chosen on windows before the benchmarks' test windows: two years of
    /// months (stallion −1.8 %, carparts −0.1 % mean wQL against 32); 32 periods otherwise.
    static func defaultContext(_ p: Period) -> Int { p == .month ? 24 : 32 }

    /// The retail calendar shipped with StreamCast, read when no --calendar is given (as `simulate` does).
    static let defaultCalendar = "Config/calendar.toml"

    func validate() throws {
        guard finalLr > 0, finalLr <= 1 else { throw ValidationError("--final-lr must be in (0, 1]") }
        guard baseLossWeight >= 0 else { throw ValidationError("--base-loss-weight must be ≥ 0") }
        guard averaging >= 0, averaging < 1 else { throw ValidationError("--averaging must be in [0, 1)") }
        guard networks >= 1 else { throw ValidationError("--networks must be at least 1") }
        guard treeLearningRate > 0, treeLearningRate <= 1 else { throw ValidationError("--tree-learning-rate must be in (0, 1]") }
        guard treeRounds >= 1, treeRows >= 1 else { throw ValidationError("--tree-rounds and --tree-rows must be at least 1") }
        guard stability >= 0, stability < 0.5 else { throw ValidationError("--stability must be in [0, 0.5): at 0.5 or more the median would never move") }
    }

    func run() throws {
        guard let p = Period(rawValue: period) else { throw ValidationError("--period must be hour, day, week or month") }
        var c = try networkConfig(p)
        let calendar = try readCalendar()
        var series: [ProductSeries] = []
        for file in replay { series += try SeriesBuilder.build(path: file, period: p, categories: c.categories) }
        let last = series.map { $0.firstPeriod + Int64($0.units.count) }.max() ?? 0  // one past the last closed period
        // Protocol: the first test FCT is T−H−K+1 (T = the last period with data); train up to it.
        let cutoff = last - Int64(horizons) - Int64(testFcts)
        // An event never seen in training has no effect to learn: it is not marked at all.
        let seen = calendar.occurring(p, from: series.map(\.firstPeriod).min() ?? cutoff, through: cutoff)
        let unseen = Set(calendar.names).subtracting(seen.names)
        if !unseen.isEmpty {
            say("events with no day in the training range, not marked: \(unseen.sorted().joined(separator: ", "))")
        }
        let holidays = seen.days, events = eventFeatures ? seen : EventCalendar([])
        c.eventFeatures = events.featureCount
        c.futureFeatures += c.eventFeatures
        say("training on \(series.count) series up to \(Timestamp.format(p.start(of: cutoff)).prefix(10)), L=\(c.context) H=\(horizons), variant \(variant)")
        let t = trainingConfig()
        let features = { (c: MQConfig) in FeatureBuilder(config: c, period: p, holidays: holidays, events: events) }
        var first: MQTrainer?
        if promoLift == nil, priceElasticity, t.holdOut {
            let cuts = ProductSeries.promotionsCutThePrice(series, through: cutoff)
            if cuts.promoted > 0 && cuts.share >= 0.5 {
                (c, first) = choosePromoLift(c, series, cutoff: cutoff, features: features, config: t)
            } else if cuts.promoted > 0 {
                say(String(format: "promotions: their flag a network input (%.0f %% of promoted periods cut the price: they are not price cuts here)", 100 * cuts.share))
            }
        }
        let trainers = trainNetworks(series, cutoff: cutoff, features: features(c), config: t, first: first)
        let trainer = trainers[0]
        var model = MQModel(network: trainer.network, period: p, holidays: holidays, id: "")
        model.events = events
        model.members = trainers.dropFirst().map(\.network)
        // The post-training fits (blend, trees' mix, rounding) read the held-out tail's forecasts (the networks' mean, and the trees'): one pass each.
        let growTrees = trees && t.holdOut && !countRounding
        let boosters = growTrees ? growTreesOrSay(trainer, series, cutoff: cutoff) : nil
        let cells = t.holdOut && (empiricalBlend || countRounding || growTrees)
            ? HeldOutCells.mean(try trainers.enumerated().map { i, tr in try tr.heldOutCells(series, cutoff: cutoff, trees: i == 0 ? boosters : nil) }) : nil
        if empiricalBlend, let cells {
            model.empiricalBlend = trainer.fitEmpiricalBlend(cells)
            say(model.empiricalBlend.map { "empirical blend: lookback:weights \($0.encoded) (fitted on the held-out tail)" }
                ?? "empirical blend: no clear gain on the held-out tail; the network alone")
        }
        if let boosters, let cells {
            model.trees = chooseTrees(boosters, cells, blend: model.empiricalBlend, quantiles: c.quantiles)
        }
        if countRounding, let cells, let rounding = trainer.fitCountRounding(series, cells: cells, blend: model.empiricalBlend) {
            model.countRounding = rounding
            say("count data: quantiles in whole \(rounding.packs ? "packs" : "units"), rounding points \(rounding.encoded) (fitted on the held-out tail)")
        }
        model.id = "mq-\(variant)-\(p.rawValue)-h\(horizons)-s\(seed)-\(model.weightsDigest)"
        try model.save(to: out)
        say("model \(model.id) → \(out)")
    }

    /// The network's sizes and inputs from the options (event features are added by the calendar).
    func networkConfig(_ p: Period) throws -> MQConfig {
        var c = MQConfig()
        c.horizons = horizons
        let levels = quantiles.split(separator: ",").compactMap { Double($0.trimmingCharacters(in: .whitespaces)) }
        guard levels.count >= 2, levels.count == quantiles.split(separator: ",").count, levels.allSatisfy({ $0 > 0 && $0 < 1 }),
              zip(levels, levels.dropFirst()).allSatisfy({ $0 < $1 }), levels.contains(0.5) else {
            throw ValidationError("--quantiles must be at least two increasing levels in (0, 1), 0.5 among them, e.g. 0.1,0.5,0.9")
        }
        c.quantiles = levels
        if let context { guard context > 1 else { throw ValidationError("--context must be at least 2 periods") } }
        c.context = context ?? Self.defaultContext(p)
        if let categories { guard categories > 0 else { throw ValidationError("--categories must be > 0") }; c.categories = categories }
        if let memory { guard memory > 0 else { throw ValidationError("--memory must be > 0") }; c.memory = memory }
        if let channels { guard channels > 0 else { throw ValidationError("--channels must be > 0") }; c.channels = channels }
        if let decoder {
            guard decoder > 0, decoder % c.heads == 0 else { throw ValidationError("--decoder must be a positive multiple of \(c.heads) (the attention heads)") }
            c.decoder = decoder
        }
        if levelInput { c.pastFeatures = 7 }
        c.memoryQuantiles = memoryQuantiles
        c.memoryAge = memoryAge
        c.memoryForecasts = memoryForecasts
        if seasonFlag { c.futureFeatures = 5 }
        c.priceElasticity = priceElasticity
        c.promoLift = priceElasticity && promoLift == true
        switch variant {
        case "full": break
        case "no-feedback": c.useFeedback = false
        case "mqcnn": c.useFeedback = false; c.useEncoderAttention = false
        default: throw ValidationError("--variant must be full, no-feedback or mqcnn")
        }
        return c
    }

    /// The named events of --calendar or the shipped retail calendar (none with --no-calendar).
    func readCalendar() throws -> EventCalendar {
        var named: [(name: String, day: Int)] = []
        let calendars = noCalendar ? [] : (calendar.isEmpty && FileManager.default.fileExists(atPath: Self.defaultCalendar) ? [Self.defaultCalendar] : calendar)
        for file in calendars { for e in try loadCalendar(file) { named.append((e.name, e.day)) } }
        let all = EventCalendar(named)
        if !calendars.isEmpty {
            say("calendar: \(calendars.joined(separator: ", ")) (\(all.names.count) events on \(all.days.count) days\(eventFeatures ? ", each with its own inputs" : ""))")
        }
        return all
    }

    func trainingConfig() -> TrainingConfig {
        var t = TrainingConfig()
        t.epochs = epochs
        t.patience = patience
        t.minimumSteps = minimumSteps
        t.examplesPerEpoch = examples
        t.finalLearningRateFraction = finalLr
        t.averagingDecay = averaging
        t.baseLossWeight = baseLossWeight
        t.holdOut = !noHoldout
        t.stabilityWeight = stability
        return t
    }

    /// The trees, or nil with the reason said (the networks are trained: a failure here does not lose them).
    func growTreesOrSay(_ trainer: MQTrainer, _ series: [ProductSeries], cutoff: Int64) -> [Booster]? {
        do { return try trainer.trainTrees(series, cutoff: cutoff, maxRows: treeRows, settings: treeSettings(), progress: say) } catch {
            say("trees: not grown (\(error)); the networks alone")
            return nil
        }
    }

    func treeSettings() -> QuantileBoosting.Settings {
        var s = QuantileBoosting.Settings()
        s.learningRate = treeLearningRate
        s.maxRounds = treeRounds
        s.threads = threads
        s.seed = seed
        return s
    }

    /// The trees' mix with what the networks serve (blend included), fitted on the held-out tail;
    /// nil (no trees stored) where no quantile gains clearly.
    func chooseTrees(_ boosters: [Booster], _ cells: HeldOutCells, blend: EmpiricalBlend?, quantiles: [Double]) -> TreeMember? {
        let served: [[Float]] = cells.forecasts.indices.map { i in
            guard let blend else { return cells.forecasts[i] }
            let empirical = blend.empirical(cells.history[i], levels: quantiles)
            return cells.forecasts[i].indices.map { blend.apply(cells.forecasts[i][$0], empirical[$0], column: $0) }.sorted()
        }
        func wql(_ rows: [[Float]]) -> Double {
            let absY = cells.actuals.reduce(0.0) { $0 + Double(abs($1)) }
            var loss = 0.0
            for (i, row) in rows.enumerated() { for (j, q) in quantiles.enumerated() { loss += Double(PinballLoss.rho(Float(q), cells.actuals[i] - row[j])) } }
            return 2 * loss / Double(quantiles.count) / max(absY, 1e-9)
        }
        guard let mix = TreeMember.fitMix(served: served, trees: cells.trees, actuals: cells.actuals, products: cells.products, quantiles: quantiles) else {
            say(String(format: "trees: no clear gain on the held-out tail (wQL %.4f, the networks %.4f); not stored", wql(cells.trees), wql(served)))
            return nil
        }
        let member = TreeMember(boosters: boosters, mix: mix)
        let mixed = served.indices.map { i in served[i].indices.map { member.apply(served[i][$0], cells.trees[i][$0], column: $0) }.sorted() }
        say(String(format: "trees: mixed in at %@ per quantile (held-out wQL %.4f; the networks %.4f, the trees alone %.4f)",
                   member.encodedMix as NSString, wql(mixed), wql(served), wql(cells.trees)))
        return member
    }

    /// Whether a promotion's lift is a factor (`MQConfig.promoLift`) or its flag an input, chosen
    /// on the held-out tail: the first network is trained both ways (same seed), and the lift is
    /// kept unless the flag as an input is better there by more than 1 %. Why lean to the lift: it
    /// lets the elasticity be learned from how deep promotions cut, so a planned price change
    /// moves the forecast as much as the data say (docs/model.md); where the two tie on accuracy
    /// that is the better model. The winner serves as the first network.
    func choosePromoLift(_ c: MQConfig, _ series: [ProductSeries], cutoff: Int64, features: (MQConfig) -> FeatureBuilder,
                         config t: TrainingConfig) -> (MQConfig, MQTrainer) {
        var lift = c, flag = c
        lift.promoLift = true
        flag.promoLift = false
        let a = trainNetwork(seed: seed, position: 0, of: networks + 1, label: "promotion lift", series, cutoff: cutoff, features: features(lift), config: t)
        let b = trainNetwork(seed: seed, position: 1, of: networks + 1, label: "promotion flag", series, cutoff: cutoff, features: features(flag), config: t)
        let keepLift = a.heldOut <= b.heldOut * 1.01
        say(String(format: "promotions: %@ (held-out wQL %.4f with their lift a factor, %.4f with their flag an input)",
                   keepLift ? "their own lift a factor beside the elasticity" : "their flag a network input", a.heldOut, b.heldOut))
        return keepLift ? (lift, a.trainer) : (flag, b.trainer)
    }

    /// Network i is trained with seed + i (the model serves their quantile average); `first`: a
    /// network 0 already trained (by a choice between variants).
    func trainNetworks(_ series: [ProductSeries], cutoff: Int64, features: FeatureBuilder, config: TrainingConfig, first: MQTrainer? = nil) -> [MQTrainer] {
        let extra = first == nil ? 0 : 1  // the choice trained one network more
        return (0..<networks).map { i in
            if i == 0, let first { return first }
            return trainNetwork(seed: seed + UInt64(i), position: i + extra, of: networks + extra, label: nil, series, cutoff: cutoff,
                                features: features, config: config).trainer
        }
    }

    /// Trains one network, the `position`-th of `count` this run trains, with a progress line per
    /// epoch and the time left; returns it with its best held-out wQL (NaN: no hold-out).
    func trainNetwork(seed networkSeed: UInt64, position index: Int, of count: Int, label: String?, _ series: [ProductSeries], cutoff: Int64,
                      features: FeatureBuilder, config: TrainingConfig) -> (trainer: MQTrainer, heldOut: Double) {
        var t = config
        let trainer = MQTrainer(network: MQNetwork(features.config, seed: networkSeed), features: features, learningRate: 2e-3, threads: threads)
        t.seed = networkSeed
        var best = Double.nan, spent = 0.0, epochsDone = 0
        trainer.train(series, cutoff: cutoff, config: t) { r in
            spent += r.seconds
            epochsDone += 1
            if !r.validationLoss.isNaN && !(best <= r.validationLoss) { best = r.validationLoss }
            let heldOut = r.validationLoss.isNaN ? "no held-out" : String(format: "held-out wQL %.4f", r.validationLoss)
            let left = Double((count - index) * t.epochs - r.epoch) * spent / Double(epochsDone)
            warn(String(format: "network %d/%d%@  epoch %2d/%d  train wQL %.4f  %@  %.1f s  (at most %.0f s left)",
                        index + 1, count, (label.map { " (\($0))" } ?? "") as NSString, r.epoch, t.epochs, r.trainLoss, heldOut as NSString, r.seconds, left))
        }
        return (trainer, best)
    }
}
