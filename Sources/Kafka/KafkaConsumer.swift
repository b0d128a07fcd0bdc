import CRdKafka
import Logging

/// A consumer-group member over librdkafka's high-level consumer.
///
/// The rebalance callback runs inside `poll` on the caller's thread, so the owner can restore or
/// flush per-partition state synchronously before partitions are (re)assigned. On assignment the
/// owner returns the offsets to start from (StreamCast's checkpoint, not the group's commits).
/// Unchecked Sendable: owned by one thread (the consume loop); librdkafka runs the rebalance callback on it, inside poll.
public final class KafkaConsumer: @unchecked Sendable {
    /// Called with the newly assigned partitions (offset = stored sentinel); returns where to start.
    /// An error (e.g. a partition's state cannot be restored) leaves the partitions unassigned and
    /// is thrown by the `poll` that ran the rebalance.
    public typealias OnAssign = ([TopicPartitionOffset]) throws -> [TopicPartitionOffset]
    /// Called before partitions are taken away.
    public typealias OnRevoke = ([TopicPartitionOffset]) -> Void

    private final class Context {
        var onAssign: OnAssign?
        var onRevoke: OnRevoke?
        var logger: Logger
        var assignment: [TopicPartitionOffset] = []
        /// An `onAssign` failure, thrown by the `poll` that ran the callback.
        var assignError: (any Error)?
        init(logger: Logger) { self.logger = logger }
    }

    private let handle: OpaquePointer
    private let context: Context
    private var closed = false

    public init(config: KafkaConfig, logger: Logger = Logger(label: "streamcast.kafka.consumer"),
                onAssign: OnAssign? = nil, onRevoke: OnRevoke? = nil) throws {
        var config = config
        if config["group.id"] == nil { config["group.id"] = "streamcast" }
        if config["enable.auto.commit"] == nil { config["enable.auto.commit"] = "false" }
        if config["auto.offset.reset"] == nil { config["auto.offset.reset"] = "earliest" }
        // Prefetch more: with librdkafka's default (100k) the fetcher starved a busy consumer of 96
        // partitions (measured 141k vs 362k events/s, docs/benchmarks.md). Memory stays bounded
        // by queued.max.messages.kbytes.
        if config["queued.min.messages"] == nil { config["queued.min.messages"] = "1000000" }
        // End-of-partition events tell the pipeline an input is caught up (see PartitionWindows).
        if config["enable.partition.eof"] == nil { config["enable.partition.eof"] = "true" }
        let conf = try config.makeConf()
        context = Context(logger: logger)
        context.onAssign = onAssign
        context.onRevoke = onRevoke
        rd_kafka_conf_set_opaque(conf, Unmanaged.passUnretained(context).toOpaque())
        rd_kafka_conf_set_rebalance_cb(conf) { rk, err, partitions, opaque in
            guard let rk, let partitions, let opaque else { return }
            let ctx = Unmanaged<Context>.fromOpaque(opaque).takeUnretainedValue()
            let parts = PartitionList.read(partitions)
            if err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS {
                let start: [TopicPartitionOffset]
                do { start = try ctx.onAssign?(parts) ?? parts } catch {
                    ctx.assignError = error
                    ctx.logger.critical("partitions not taken: \(error)")
                    return
                }
                let list = PartitionList.make(start)
                rd_kafka_assign(rk, list)
                rd_kafka_topic_partition_list_destroy(list)
                ctx.assignment = start
                ctx.logger.info("partitions assigned", metadata: ["partitions": "\(start.map { "\($0.topic)[\($0.partition)]@\($0.offset)" })"])
            } else {
                ctx.onRevoke?(parts)
                rd_kafka_assign(rk, nil)
                ctx.assignment = []
                ctx.logger.info("partitions revoked", metadata: ["count": "\(parts.count)"])
            }
        }
        rd_kafka_conf_set_error_cb(conf) { _, code, reason, opaque in
            guard let opaque else { return }
            let ctx = Unmanaged<Context>.fromOpaque(opaque).takeUnretainedValue()
            let text = reason.map { String(cString: $0) } ?? ""
            ctx.logger.warning("kafka client error", metadata: ["code": "\(code)", "reason": "\(text)"])
        }
        var errbuf = [CChar](repeating: 0, count: 512)
        guard let rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, &errbuf, errbuf.count) else {
            rd_kafka_conf_destroy(conf)
            throw KafkaError(.client, "cannot create consumer: \(errorText(errbuf))")
        }
        handle = rk
        rd_kafka_poll_set_consumer(rk)
    }

    deinit { close() }

    /// Joins the group for these topics.
    public func subscribe(_ topics: [String]) throws {
        let list = PartitionList.make(topics.map { TopicPartitionOffset(topic: $0, partition: RD_KAFKA_PARTITION_UA, offset: 0) })
        defer { rd_kafka_topic_partition_list_destroy(list) }
        let err = rd_kafka_subscribe(handle, list)
        if err != RD_KAFKA_RESP_ERR_NO_ERROR { throw KafkaError(.consume, err, context: "subscribe \(topics)") }
    }

    /// What `poll` returns, in the order the client delivered it.
    public enum Event: Sendable {
        case message(KafkaMessage)
        /// Everything in this partition up to `offset` has been read (enable.partition.eof).
        case endOfPartition(topic: String, partition: Int32, offset: Int64)
    }

    /// Reads up to `max` messages, waiting at most `timeoutMs` for the first one. Transient
    /// consume errors are logged and skipped; a fatal client error is thrown.
    public func poll(max: Int, timeoutMs: Int32) throws -> [Event] {
        var out: [Event] = []
        out.reserveCapacity(min(max, 4096))
        var wait = timeoutMs
        while out.count < max {
            guard let msg = rd_kafka_consumer_poll(handle, wait) else { break }
            wait = 0
            defer { rd_kafka_message_destroy(msg) }
            let m = msg.pointee
            if m.err != RD_KAFKA_RESP_ERR_NO_ERROR {
                if m.err == RD_KAFKA_RESP_ERR__PARTITION_EOF {
                    out.append(.endOfPartition(topic: String(cString: rd_kafka_topic_name(m.rkt)), partition: m.partition, offset: m.offset))
                    continue
                }
                var errbuf = [CChar](repeating: 0, count: 256)
                if rd_kafka_fatal_error(handle, &errbuf, errbuf.count) != RD_KAFKA_RESP_ERR_NO_ERROR {
                    throw KafkaError(.consume, "fatal: \(errorText(errbuf))")
                }
                context.logger.warning("consume error", metadata: ["error": "\(String(cString: rd_kafka_err2str(m.err)))"])
                continue
            }
            out.append(.message(Self.copy(m)))
        }
        if let error = context.assignError {
            context.assignError = nil
            throw error
        }
        return out
    }

    private static func copy(_ m: rd_kafka_message_t) -> KafkaMessage {
        let value = m.payload.map { [UInt8](UnsafeRawBufferPointer(start: $0, count: m.len)) } ?? []
        let key = m.key.map { [UInt8](UnsafeRawBufferPointer(start: $0, count: m.key_len)) }
        var tstype = RD_KAFKA_TIMESTAMP_NOT_AVAILABLE
        var m2 = m
        let ts = rd_kafka_message_timestamp(&m2, &tstype)
        return KafkaMessage(topic: String(cString: rd_kafka_topic_name(m.rkt)), partition: m.partition,
                            offset: m.offset, key: key, value: value, timestamp: ts)
    }

    /// The partitions currently assigned to this member, with the offsets they started from.
    public var assignment: [TopicPartitionOffset] { context.assignment }

    /// Moves the read position of assigned partitions.
    public func seek(_ positions: [TopicPartitionOffset], timeoutMs: Int32 = 5000) throws {
        let list = PartitionList.make(positions)
        defer { rd_kafka_topic_partition_list_destroy(list) }
        if let error = rd_kafka_seek_partitions(handle, list, timeoutMs) {
            let text = String(cString: rd_kafka_error_string(error))
            rd_kafka_error_destroy(error)
            throw KafkaError(.consume, "seek: \(text)")
        }
    }

    /// Stops fetching from these partitions (back-pressure) until `resume`.
    public func pause(_ partitions: [TopicPartitionOffset]) {
        let list = PartitionList.make(partitions)
        rd_kafka_pause_partitions(handle, list)
        rd_kafka_topic_partition_list_destroy(list)
    }

    public func resume(_ partitions: [TopicPartitionOffset]) {
        let list = PartitionList.make(partitions)
        rd_kafka_resume_partitions(handle, list)
        rd_kafka_topic_partition_list_destroy(list)
    }

    /// Commits offsets to the group (for tooling such as lag monitors; StreamCast's own restart
    /// position is its checkpoint).
    public func commit(_ offsets: [TopicPartitionOffset], async: Bool = true) throws {
        guard !offsets.isEmpty else { return }
        let list = PartitionList.make(offsets)
        defer { rd_kafka_topic_partition_list_destroy(list) }
        let err = rd_kafka_commit(handle, list, async ? 1 : 0)
        if err != RD_KAFKA_RESP_ERR_NO_ERROR && err != RD_KAFKA_RESP_ERR__NO_OFFSET {
            throw KafkaError(.consume, err, context: "commit")
        }
    }

    /// The first offset a partition still holds (older ones were deleted by retention), asked of
    /// the broker.
    public func firstOffset(topic: String, partition: Int32, timeoutMs: Int32 = 5000) throws -> Int64 {
        var low: Int64 = 0, high: Int64 = 0
        let err = rd_kafka_query_watermark_offsets(handle, topic, partition, &low, &high, timeoutMs)
        guard err == RD_KAFKA_RESP_ERR_NO_ERROR else { throw KafkaError(.consume, err, context: "query watermarks of \(topic)[\(partition)]") }
        return low
    }

    /// High watermark of a partition as last seen by the client (for lag), or nil if unknown.
    public func highWatermark(topic: String, partition: Int32) -> Int64? {
        var low: Int64 = 0, high: Int64 = 0
        let err = rd_kafka_get_watermark_offsets(handle, topic, partition, &low, &high)
        return err == RD_KAFKA_RESP_ERR_NO_ERROR && high >= 0 ? high : nil
    }

    /// Leaves the group cleanly (revoke callback runs) and frees the client.
    public func close() {
        guard !closed else { return }
        closed = true
        rd_kafka_consumer_close(handle)
        rd_kafka_destroy(handle)
    }
}
