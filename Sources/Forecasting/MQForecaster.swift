import Foundation
import NeuralNet
import Windows

/// The trained network as a `Forecaster` for the stream. Per-product state is the error memory:
/// the base medians (or quantiles) of the last R forecasts with their FCTs; when a refresh comes, the periods
/// that have closed since fill in those forecasts' errors (no retraining) before the network runs.
/// Unchecked Sendable: a lock lets one batch run at a time; the workspaces are touched only inside it.
public final class MQForecaster: Forecaster, @unchecked Sendable {
    public let model: MQModel
    let features: FeatureBuilder
    /// The per-product state: what the last R forecasts were, and how closed periods turn them into errors.
    public let memory: ErrorMemory
    /// One workspace per worker thread; the model's network (weights only) serves them all.
    let workspaces: [MQNetwork.Workspace]
    private let lock = NSLock()  // one batch at a time; the batch itself runs on every workspace

    /// Serving switch for the error memory: off, the network sees every entry masked (as for a
    /// product with no past forecasts) while the memory is still kept, so it can be switched back on.
    public let useMemory: Bool
    /// Ablation (online-eval's `blank-errors`): the memory's entries with their errors zeroed.
    public let blankErrors: Bool
    /// The model's whole-unit (or whole-pack) rounding, unless turned off (an ensemble rounds its average instead).
    let rounding: CountRounding?

    /// `threads`: how many cores a large batch is split over (the default: all of them, up to 4).
    public init(model: MQModel, useMemory: Bool = true, threads: Int = min(4, ProcessInfo.processInfo.activeProcessorCount),
                countRounding: Bool = true, blankErrors: Bool = false, productsPerPass: Int? = nil) {
        self.model = model
        self.productsPerPass = productsPerPass ?? (BLAS.rowsAreBatchInvariant ? Self.forwardBatch : 1)
        self.useMemory = useMemory
        self.blankErrors = blankErrors
        rounding = countRounding ? model.countRounding : nil
        features = FeatureBuilder(config: model.network.config, period: model.period, holidays: model.holidays, events: model.events)
        memory = ErrorMemory(config: model.network.config)
        workspaces = (0..<max(1, threads)).map { _ in model.network.workspace() }
    }

    /// Products below which a batch is not split across threads.
    static let rowsPerThread = 128

    public var contextLength: Int { model.historyNeeded }

    public var stateLayout: String { memory.layout }

    public var id: String { model.id + (useMemory ? "" : "+no-memory") + (blankErrors ? "+blank-errors" : "") }

    public func forecast(_ window: ProductWindow, horizons: Int, quantiles: [Double], state: inout [UInt8]) -> [[Float]] {
        forecastAsBatch(window, horizons: horizons, quantiles: quantiles, state: &state)
    }

    /// Forward passes of up to `forwardBatch` products: every matrix product covers all of them. A
    /// product's numbers do not depend on the batch it is in, so a crash-and-restart run, a live
    /// run and a replay, which batch differently, forecast the same bits. That needs a BLAS whose
    /// rows are batch-invariant (`BLAS.rowsAreBatchInvariant`, checked at first use); where the
    /// CPU's kernels are not, each product gets a pass of its own (`productsPerPass` = 1: exact,
    /// slower: docs/benchmarks.md).
    /// A large batch is cut into one contiguous part per worker, run in parallel (the parts are
    /// the same forecasts whichever way they are cut, as above).
    public func forecastBatch(_ windows: [ProductWindow], horizons: Int, quantiles: [Double], states: inout [[UInt8]]) -> [[[Float]]] {
        lock.lock()
        defer { lock.unlock() }
        let parts = max(1, min(workspaces.count, windows.count / Self.rowsPerThread))
        if parts == 1 { return forecastPart(windows, horizons: horizons, quantiles: quantiles, states: &states, workspace: workspaces[0]) }
        let input = states
        let results = inParallelParts(count: windows.count, parts: parts) { i, range in
            var part = Array(input[range])
            let values = forecastPart(Array(windows[range]), horizons: horizons, quantiles: quantiles, states: &part, workspace: workspaces[i])
            return (values: values, states: part)
        }
        var out: [[[Float]]] = []
        out.reserveCapacity(windows.count)
        for (range, result) in results {
            out += result.values
            states.replaceSubrange(range, with: result.states)
        }
        return out
    }

    /// Products per forward pass within a part. Measured (`bench inference --batch`, one core):
    /// 30k forecasts/s at 1, 54k at 16, 52k at 128, 47k at 1,024 — past a few dozen products the
    /// activations (rows × channels per layer) outgrow the caches and fresh pages cost more than
    /// the larger matrix products save.
    static let forwardBatch = 64

    /// Products per forward pass: `forwardBatch`, or 1 where the BLAS would make a product's
    /// numbers depend on its neighbours in the pass.
    public let productsPerPass: Int

    func forecastPart(_ windows: [ProductWindow], horizons: Int, quantiles: [Double], states: inout [[UInt8]], workspace: MQNetwork.Workspace) -> [[[Float]]] {
        guard windows.count > productsPerPass else { return forwardPass(windows, horizons: horizons, quantiles: quantiles, states: &states, workspace: workspace) }
        var out: [[[Float]]] = []
        out.reserveCapacity(windows.count)
        for from in stride(from: 0, to: windows.count, by: productsPerPass) {
            let to = min(from + productsPerPass, windows.count)
            var part = Array(states[from..<to])
            out += forwardPass(Array(windows[from..<to]), horizons: horizons, quantiles: quantiles, states: &part, workspace: workspace)
            states.replaceSubrange(from..<to, with: part)
        }
        return out
    }

    func forwardPass(_ windows: [ProductWindow], horizons: Int, quantiles: [Double], states: inout [[UInt8]], workspace: MQNetwork.Workspace) -> [[[Float]]] {
        let network = model.network
        let c = model.network.config, H = c.horizons
        var examples: [(series: ProductSeries, t: Int, futurePrices: [(Float, Float)]?, memory: [[Float]]?)] = []
        var memories: [[(fct: Int64, base: [Float])]] = []
        for (b, window) in windows.enumerated() {
            let (series, t, future) = model.input(window)
            let scale = features.scale(series, fct: t)
            // The error memory: previous base forecasts against the actuals that have closed since.
            let entries = memory.decode(states[b])
            memories.append(entries)
            let inputs = entries.prefix(c.memory).map { e in
                memory.input(base: e.base, age: Int(window.lastClosed - e.fct), scale: scale) { k in
                    let target = e.fct + 1 + Int64(k)
                    let i = Int(target - series.firstPeriod)
                    return target <= window.lastClosed && i >= 0 && i < series.units.count ? series.units[i] : nil
                }
            }
            examples.append((series, t, future, c.useFeedback && useMemory ? (blankErrors ? inputs.map(memory.blanked) : inputs) : nil))
        }
        let (batch, scales) = features.batch(examples)
        let (final, base) = network.forward(batch, workspace)
        let median = network.head.median
        // The model column of each requested quantile (a level the model lacks: its median).
        let columns = quantiles.map { q in c.quantiles.firstIndex { abs($0 - q) < 1e-9 } ?? median }
        let blend = model.empiricalBlend
        var out: [[[Float]]] = []
        for b in windows.indices {
            // The product's pack size over the context the network saw (for rounding by packs).
            let pack = rounding?.packs == true ? CountRounding.packSize(examples[b].series.units.suffix(c.context)) : 1
            let empirical = blend?.empirical(examples[b].series.units, levels: c.quantiles)
            let newEntry = (fct: windows[b].lastClosed, base: memory.keep(base: base, final: final, example: b, scale: scales[b]))
            states[b] = memory.encode(Array(([newEntry] + memories[b]).prefix(c.memory)))
            // Rows for the requested horizons (beyond the model's H: repeat the last), quantiles by level.
            out.append((0..<horizons).map { k in
                let row = b * H + min(k, H - 1)
                let values = columns.map { j in
                    var v = max(0, final[row, j] * scales[b])
                    if let blend, let empirical { v = blend.apply(v, empirical[j], column: j) }
                    return rounding?.apply(v, column: j, pack: pack) ?? v
                }
                // Per-quantile rounding points or blend weights could cross neighbouring quantiles.
                return rounding == nil && blend == nil ? values : values.sorted()
            })
        }
        return out
    }
}

extension MQModel {
    /// What the network reads of a product's window at its FCT (the last closed period): the
    /// history as a series, the FCT's index in it, and each target's known-future (price, promo)
    /// from the product's schedule as known at the FCT (announced changes included).
    func input(_ window: ProductWindow) -> (series: ProductSeries, t: Int, future: [(Float, Float)]) {
        let series = ProductSeries(window: window, categories: network.config.categories)
        let asOf = min(period.end(of: window.lastClosed), window.knownAsOf ?? .max)
        let future: [(Float, Float)] = (0..<network.config.horizons).map { k in
            let p = window.lastClosed + 1 + Int64(k)
            let (price, promo) = window.price(from: period.start(of: p), to: period.end(of: p), asOf: asOf)
            return (price, promo ? 1 : 0)
        }
        return (series, series.units.count - 1, future)
    }
}
