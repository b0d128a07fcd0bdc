import Windows

/// Everything the processor keeps for one partition number, as one value: the product windows
/// (with each input's watermark and the closed-through period), the forecaster's state of each
/// product, and which products were refreshed early in their open period. A partition is
/// restored, checkpointed and dropped as a whole, so its parts cannot drift apart.
struct PartitionState {
    var windows: PartitionWindows
    /// The forecaster's per-product state (e.g. the error memory), by the product's slot in `windows`.
    private(set) var forecasterStates: [[UInt8]] = []
    /// Product → the open period it was refreshed early in (one early refresh per period);
    /// pruned at each close, so it holds only products refreshed in the open period.
    var earlyRefreshed: [String: Int64] = [:]

    init(partition: Int32, config: WindowConfig) {
        windows = PartitionWindows(partition: partition, config: config)
    }

    init(windows: PartitionWindows, forecasterStates: [[UInt8]]) {
        self.windows = windows
        self.forecasterStates = forecasterStates
    }

    /// A product's forecaster state (empty before its first forecast).
    func forecasterState(slot: Int) -> [UInt8] {
        slot < forecasterStates.count ? forecasterStates[slot] : []
    }

    mutating func setForecasterState(_ state: [UInt8], slot: Int) {
        if forecasterStates.count <= slot { forecasterStates += Array(repeating: [], count: slot + 1 - forecasterStates.count) }
        forecasterStates[slot] = state
    }

    /// Forgets the early refreshes of periods that have closed (the regular forecast superseded them).
    mutating func forgetClosedEarlyRefreshes() {
        guard let through = windows.closedThrough, !earlyRefreshed.isEmpty else { return }
        earlyRefreshed = earlyRefreshed.filter { $0.value > through }
    }
}
