import Windows

/// Quantile averaging over several forecasters — typically the same network trained with different
/// seeds. Each quantile of each horizon is the mean of the members' values for it ("Vincentization",
/// Ratcliff 1979; the usual way to combine quantile forecasts), which keeps quantiles ordered when
/// every member's are, and averages away the seed-to-seed variance of a small network trained
/// on little data. Each member keeps its own state (its error memory is its own forecasts').
///
/// State: [u32 member count] then per member [u32 length][bytes]; an empty or foreign state gives
/// every member an empty one (a product seen for the first time).
public final class EnsembleForecaster: Forecaster, Sendable {
    public let members: [any Forecaster]
    /// Whole-unit rounding of the average, by quantile level (see `init(models:)`).
    let roundingPoints: [Double: Float]
    /// Whether that rounding is onto each product's pack size (CountRounding.packs), found over
    /// this many periods (the members' context).
    let roundsByPacks: Bool
    let packWindow: Int
    /// The id forecasts carry (nil: "ensemble-" and the members' ids).
    let fixedID: String?

    public init(members: [any Forecaster], roundingPoints: [Double: Float] = [:], roundsByPacks: Bool = false, packWindow: Int = 0, id: String? = nil) {
        precondition(!members.isEmpty, "an ensemble needs members")
        self.members = members
        fixedID = id
        self.roundingPoints = roundingPoints
        self.roundsByPacks = roundsByPacks
        self.packWindow = packWindow
    }

    /// An ensemble of trained models. Where every member rounds a quantile to whole units (count
    /// data), the members forecast it continuously and the average is rounded at the members'
    /// mean rounding point: an average of whole numbers is not one, and rounding each member
    /// first would throw away the information the averaging adds.
    public convenience init(models: [MQModel], useMemory: Bool = true, id: String? = nil) {
        var points: [Double: Float] = [:]
        let levels = models[0].network.config.quantiles
        let packs = models[0].countRounding?.packs ?? false
        if models.allSatisfy({ $0.countRounding != nil && $0.countRounding?.packs == packs && $0.network.config.quantiles == levels }) {
            for (j, level) in levels.enumerated() {
                let thetas = models.compactMap { $0.countRounding!.thresholds[j] }
                if thetas.count == models.count { points[level] = thetas.reduce(0, +) / Float(thetas.count) }
            }
        }
        self.init(members: models.map { MQForecaster(model: $0, useMemory: useMemory, countRounding: points.isEmpty) },
                  roundingPoints: points, roundsByPacks: packs, packWindow: models[0].network.config.context, id: id)
    }

    public var id: String { fixedID ?? "ensemble-" + members.map(\.id).joined(separator: "+") }
    public var contextLength: Int { members.map(\.contextLength).max() ?? 0 }
    public var stateLayout: String { "ensemble[" + members.map(\.stateLayout).joined(separator: "; ") + "]" }

    public func forecast(_ window: ProductWindow, horizons: Int, quantiles: [Double], state: inout [UInt8]) -> [[Float]] {
        forecastAsBatch(window, horizons: horizons, quantiles: quantiles, state: &state)
    }

    public func forecastBatch(_ windows: [ProductWindow], horizons: Int, quantiles: [Double], states: inout [[UInt8]]) -> [[[Float]]] {
        var memberStates = states.map { Self.split($0, members: members.count) }
        var sum = [[[Float]]](repeating: [[Float]](repeating: [Float](repeating: 0, count: quantiles.count), count: horizons), count: windows.count)
        for (m, member) in members.enumerated() {
            var mine = memberStates.map { $0[m] }
            let rows = member.forecastBatch(windows, horizons: horizons, quantiles: quantiles, states: &mine)
            for b in windows.indices {
                memberStates[b][m] = mine[b]
                for k in 0..<horizons { for j in quantiles.indices { sum[b][k][j] += rows[b][k][j] } }
            }
        }
        let n = Float(members.count)
        states = memberStates.map(Self.join)
        let points = quantiles.map { q in roundingPoints.first { abs($0.key - q) < 1e-9 }?.value }
        return zip(windows, sum).map { window, rows in
            let pack = roundsByPacks ? CountRounding.packSize(window.recent(.units, count: packWindow)) : 1
            return tidy(rows.map { row in row.enumerated().map { j, total in
                let mean = total / n
                return points[j].map { CountRounding.round(mean, at: $0, unit: pack) } ?? mean
            } })
        }
    }

    static func split(_ state: [UInt8], members: Int) -> [[UInt8]] {
        var r = ByteReader(state)
        guard let count = try? r.u32(), Int(count) == members else { return Array(repeating: [], count: members) }
        var out: [[UInt8]] = []
        for _ in 0..<members {
            guard let n = try? r.u32(), let bytes = try? r.take(Int(n)) else { return Array(repeating: [], count: members) }
            out.append(Array(bytes))
        }
        return out
    }

    static func join(_ states: [[UInt8]]) -> [UInt8] {
        var w = ByteWriter()
        w.u32(UInt32(states.count))
        for s in states { w.u32(UInt32(s.count)); w.bytes(s) }
        return w.bytes
    }
}
