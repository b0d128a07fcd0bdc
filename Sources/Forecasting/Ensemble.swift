import Windows

/// Quantile averaging over several forecasters — typically the same network trained with different
/// seeds. Each quantile of each horizon is the mean of the members' values for it ("Vincentization",
/// Ratcliff 1979; the usual way to combine quantile forecasts), which keeps quantiles ordered when
/// every member's are, and averages away the seed-to-seed variance of a small network trained
/// on little data. Each member keeps its own state (its error memory is its own forecasts').
///
/// State: [u32 member count] then per member [u32 length][bytes]; an empty or foreign state gives
/// every member an empty one (a product seen for the first time).
public final class EnsembleForecaster: Forecaster, @unchecked Sendable {
    public let members: [any Forecaster]

    public init(members: [any Forecaster]) {
        precondition(!members.isEmpty, "an ensemble needs members")
        self.members = members
    }

    public var id: String { "ensemble-" + members.map(\.id).joined(separator: "+") }
    public var contextLength: Int { members.map(\.contextLength).max() ?? 0 }

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
        return sum.map { tidy($0.map { $0.map { $0 / n } }) }
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
