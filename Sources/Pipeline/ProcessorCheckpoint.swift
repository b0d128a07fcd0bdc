import Checkpoint
import Windows

/// Moving the processor's state into and out of the checkpoint store.
extension StreamProcessor {
    /// Everything changed since the last checkpoint plus all offsets: one store transaction.
    public func checkpointBatch() -> CheckpointStore.Batch {
        var batch = CheckpointStore.Batch()
        for (topic, parts) in positions.sorted(by: { $0.key < $1.key }) {
            for (p, next) in parts.sorted(by: { $0.key < $1.key }) {
                batch.offsets.append(.init(topic: topic, partition: p, next: next))
            }
        }
        for p in partitions.keys.sorted() {
            batch.partitions.append((p, Self.encodePartition(partitions[p]!.windows)))
            for (slot, product) in partitions[p]!.windows.takeDirtySlots() {
                batch.products.append(.init(partition: p, slot: slot, product: product.product,
                                            window: WindowCodec.encode(product),
                                            forecaster: partitions[p]!.forecasterState(slot: slot),
                                            monitor: monitor?.productState(product.product) ?? []))
            }
        }
        if let monitor { batch.instance["monitor_scopes"] = monitor.scopeState(closedThrough: scopesClosedThrough) }
        return batch
    }

    /// Every product of a partition as checkpoint rows (a full snapshot of it).
    public func allRows(partition p: Int32) -> [CheckpointStore.ProductRow] {
        guard let state = partitions[p] else { return [] }
        return state.windows.products.enumerated().map { slot, product in
            .init(partition: p, slot: slot, product: product.product, window: WindowCodec.encode(product),
                  forecaster: state.forecasterState(slot: slot), monitor: monitor?.productState(product.product) ?? [])
        }
    }

    func productCount(partition p: Int32) -> Int { partitions[p]?.windows.products.count ?? 0 }

    /// Loads a partition's state from the checkpoint store.
    public func restore(partition p: Int32, from store: CheckpointStore) throws {
        try restore(partition: p, state: try store.partitionState(p), rows: try store.products(partition: p),
                    offsets: try store.offsets().filter { $0.partition == p })
    }

    /// Loads a partition's state from its parts (the store's, or a changelog's).
    func restore(partition p: Int32, state: [UInt8]?, rows: [CheckpointStore.ProductRow], offsets stored: [CheckpointStore.StoredOffset]) throws {
        var windows = PartitionWindows(partition: p, config: config.windows)
        if let state {
            let (watermarks, closed) = try Self.decodePartition(state)
            windows.restore(watermarks: watermarks, closedThrough: closed)
        }
        var slots: [[UInt8]] = []
        for row in rows {
            windows.restore(try WindowCodec.decode(row.window))
            slots.append(row.forecaster)
            monitor?.restoreProduct(row.product, from: row.monitor)
        }
        _ = windows.takeDirtySlots()
        partitions[p] = PartitionState(windows: windows, forecasterStates: slots)
        for o in stored { offsets.set(topic: o.topic, partition: p, next: o.next) }
    }

    static func encodePartition(_ w: PartitionWindows) -> [UInt8] {
        var out = ByteWriter()
        out.u8(1)
        out.i64(w.closedThrough ?? Int64.min)
        let marks = w.watermarks.sorted { $0.key < $1.key }
        out.u16(UInt16(marks.count))
        for (input, wm) in marks { out.string(input); out.i64(wm) }
        return out.bytes
    }

    static func decodePartition(_ bytes: [UInt8]) throws -> ([String: Int64], Int64?) {
        var r = ByteReader(bytes)
        guard try r.u8() == 1 else { throw CodecError.badVersion }
        let closed = try r.i64()
        var marks: [String: Int64] = [:]
        for _ in 0..<Int(try r.u16()) { marks[try r.string()] = try r.i64() }
        return (marks, closed == Int64.min ? nil : closed)
    }
}
