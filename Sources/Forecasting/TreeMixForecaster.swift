import Foundation
import Windows

/// A model with trees (`TreeMember`) served: whatever serves its networks (one network or their
/// quantile average, the empirical blend included), then each quantile mixed with the trees',
/// (1 − μ_j)·served_j + μ_j·trees_j. The trees keep no per-product state: the state is the
/// networks' (their error memories), passed through.
/// Unchecked Sendable: XGBoost's handles are used only under the lock.
public final class TreeMixForecaster: Forecaster, @unchecked Sendable {
    let inner: any Forecaster
    let model: MQModel
    let trees: TreeMember
    let features: FeatureBuilder
    /// For the first network's price factor (the trees' forecast is at the FCT's price).
    let workspace: MQNetwork.Workspace
    private let lock = NSLock()

    /// `threads`: cores a batch's tree scoring is split over (the networks' run before it).
    public init(inner: any Forecaster, model: MQModel, trees: TreeMember, threads: Int = min(4, ProcessInfo.processInfo.activeProcessorCount)) {
        self.inner = inner
        self.model = model
        self.trees = trees
        for booster in trees.boosters { try? booster.use(threads: threads) }
        features = FeatureBuilder(config: model.network.config, period: model.period, holidays: model.holidays, events: model.events)
        workspace = model.network.workspace()
    }

    public var id: String { inner.id }
    public var contextLength: Int { inner.contextLength }
    public var stateLayout: String { inner.stateLayout }

    public func forecast(_ window: ProductWindow, horizons: Int, quantiles: [Double], state: inout [UInt8]) -> [[Float]] {
        forecastAsBatch(window, horizons: horizons, quantiles: quantiles, state: &state)
    }

    public func forecastBatch(_ windows: [ProductWindow], horizons: Int, quantiles: [Double], states: inout [[UInt8]]) -> [[[Float]]] {
        let served = inner.forecastBatch(windows, horizons: horizons, quantiles: quantiles, states: &states)
        let c = model.network.config, H = c.horizons
        let columns = quantiles.map { q in c.quantiles.firstIndex { abs($0 - q) < 1e-9 } ?? model.network.head.median }
        var out: [[[Float]]] = []
        out.reserveCapacity(windows.count)
        for from in stride(from: 0, to: windows.count, by: 1024) {
            let chunk = from..<min(from + 1024, windows.count)
            let (x, scales) = features.batch(chunk.map { let i = model.input(windows[$0]); return (i.series, i.t, i.future, nil) })
            let values: [[Float]]
            do {
                lock.lock()
                defer { lock.unlock() }
                values = try trees.forecast(x, scales: scales, factors: TreeMember.priceFactors(model.network, x, workspace), config: c)
            } catch {
                // Prediction from a loaded booster fails only on a broken model; serve the networks.
                out += served[chunk]
                continue
            }
            for (e, b) in chunk.enumerated() {
                out.append((0..<horizons).map { k in
                    let row = e * H + min(k, H - 1)
                    return columns.enumerated().map { i, j in trees.apply(served[b][k][i], values[row][j], column: j) }.sorted()
                })
            }
        }
        return out
    }
}
