import CRdKafka

/// Reads one partition of a topic from its first retained offset to the end it had when the read
/// began, outside any consumer group (no offsets committed, no rebalance): how a state changelog
/// partition is read back on assignment.
public enum KafkaPartitionReader {
    /// The partition's retained range [low, high) at the start of the read.
    public struct Range: Sendable, Equatable {
        public var low: Int64
        public var high: Int64
        public init(low: Int64, high: Int64) {
            self.low = low
            self.high = high
        }
    }

    /// The retained range of a partition, asked of the broker.
    public static func range(config: KafkaConfig, topic: String, partition: Int32, timeoutMs: Int32 = 10_000) throws -> Range {
        try withConsumer(config) { rk in try watermarks(rk, topic, partition, timeoutMs) }
    }

    /// Calls `body` with every message of [low, high) in offset order — when `shouldRead` says so
    /// for that range (one broker round trip decides and reads); throws if the partition cannot be
    /// read to its end within `timeoutMs` of no progress.
    @discardableResult
    public static func read(config: KafkaConfig, topic: String, partition: Int32, timeoutMs: Int32 = 30_000,
                            if shouldRead: (Range) -> Bool = { _ in true },
                            _ body: (KafkaMessage) throws -> Void) throws -> Range {
        try withConsumer(config) { rk in
            let range = try watermarks(rk, topic, partition, timeoutMs)
            guard range.high > range.low, shouldRead(range) else { return range }
            let list = PartitionList.make([TopicPartitionOffset(topic: topic, partition: partition, offset: range.low)])
            defer { rd_kafka_topic_partition_list_destroy(list) }
            let err = rd_kafka_assign(rk, list)
            if err != RD_KAFKA_RESP_ERR_NO_ERROR { throw KafkaError(.consume, err, context: "assign \(topic)[\(partition)]") }
            defer { rd_kafka_assign(rk, nil) }
            var next = range.low
            var idle: Int32 = 0
            while next < range.high {
                guard let msg = rd_kafka_consumer_poll(rk, 200) else {
                    idle += 200
                    if idle >= timeoutMs { throw KafkaError(.timeout, "reading \(topic)[\(partition)]: stuck at offset \(next) of \(range.high) for \(timeoutMs) ms") }
                    continue
                }
                defer { rd_kafka_message_destroy(msg) }
                let m = msg.pointee
                if m.err == RD_KAFKA_RESP_ERR__PARTITION_EOF { continue }
                if m.err == RD_KAFKA_RESP_ERR_OFFSET_OUT_OF_RANGE {
                    throw KafkaError(.consume, m.err, context: "reading \(topic)[\(partition)] at \(next) (retention removed it during the read)")
                }
                if m.err != RD_KAFKA_RESP_ERR_NO_ERROR { throw KafkaError(.consume, m.err, context: "reading \(topic)[\(partition)]") }
                idle = 0
                guard m.offset < range.high else { break }
                let value = m.payload.map { [UInt8](UnsafeRawBufferPointer(start: $0, count: m.len)) } ?? []
                let key = m.key.map { [UInt8](UnsafeRawBufferPointer(start: $0, count: m.key_len)) }
                try body(KafkaMessage(topic: topic, partition: partition, offset: m.offset, key: key, value: value, timestamp: -1))
                next = m.offset + 1
            }
            return range
        }
    }

    private static func watermarks(_ rk: OpaquePointer, _ topic: String, _ partition: Int32, _ timeoutMs: Int32) throws -> Range {
        var low: Int64 = 0, high: Int64 = 0
        let err = rd_kafka_query_watermark_offsets(rk, topic, partition, &low, &high, timeoutMs)
        guard err == RD_KAFKA_RESP_ERR_NO_ERROR else { throw KafkaError(.consume, err, context: "query watermarks of \(topic)[\(partition)]") }
        return Range(low: low, high: high)
    }

    /// A consumer handle that never joins its group: only `assign` is used.
    private static func withConsumer<T>(_ config: KafkaConfig, _ body: (OpaquePointer) throws -> T) throws -> T {
        var config = config
        for key in ["group.instance.id", "partition.assignment.strategy"] { config[key] = nil }
        config["group.id"] = "streamcast-changelog-reader"
        config["enable.auto.commit"] = "false"
        config["enable.auto.offset.store"] = "false"
        config["enable.partition.eof"] = "true"
        config["auto.offset.reset"] = "earliest"
        let conf = try config.makeConf()
        var errbuf = [CChar](repeating: 0, count: 512)
        guard let rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, &errbuf, errbuf.count) else {
            rd_kafka_conf_destroy(conf)
            throw KafkaError(.client, "cannot create reader: \(errorText(errbuf))")
        }
        defer {
            rd_kafka_consumer_close(rk)
            rd_kafka_destroy(rk)
        }
        rd_kafka_poll_set_consumer(rk)
        return try body(rk)
    }
}
