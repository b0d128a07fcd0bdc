import CRdKafka
import Logging

let librdkafkaLogger = Logger(label: "librdkafka")

/// librdkafka properties, typed where StreamCast sets them and passed through otherwise (any
/// property in librdkafka's CONFIGURATION.md, e.g. `security.protocol`, `sasl.*`, `ssl.*`).
public struct KafkaConfig: Sendable {
    public var properties: [String: String]

    public init(bootstrapServers: String = "127.0.0.1:9092", properties: [String: String] = [:]) {
        self.properties = ["bootstrap.servers": bootstrapServers]
        for (key, value) in properties { self.properties[key] = value }
    }

    public subscript(key: String) -> String? {
        get { properties[key] }
        set { properties[key] = newValue }
    }

    /// Keys whose values must never reach a log line, metric or dead-letter message.
    public static func isSecret(_ key: String) -> Bool {
        let k = key.lowercased()
        return k.contains("password") || k.contains("secret") || k.contains("sasl.jaas")
            || k.hasPrefix("ssl.key") || k.contains("token") || k.contains("credentials")
    }

    /// The properties with secret values replaced, safe to log.
    public var redacted: [String: String] {
        var out = properties
        for key in out.keys where Self.isSecret(key) { out[key] = "[redacted]" }
        return out
    }

    /// Checks every property with librdkafka; throws naming the first bad key (never its value).
    public func validate() throws {
        rd_kafka_conf_destroy(try makeConf())
    }

    /// The property a configuration error is about, if any.
    public static func key(of error: KafkaError) -> String? {
        guard error.kind == .configuration, let start = error.message.firstIndex(of: "'") else { return nil }
        let rest = error.message[error.message.index(after: start)...]
        return rest.firstIndex(of: "'").map { String(rest[..<$0]) }
    }

    /// Builds a librdkafka conf; every property is validated by librdkafka itself, and a bad one is
    /// reported with its key (never its value, which may be a secret).
    func makeConf() throws -> OpaquePointer {
        let conf = rd_kafka_conf_new()!
        // librdkafka's own log lines go through swift-log (they would print to stderr otherwise).
        rd_kafka_conf_set_log_cb(conf) { _, level, facility, message in
            let text = message.map { String(cString: $0) } ?? ""
            let fac = facility.map { String(cString: $0) } ?? ""
            switch level {
            case 0...3: librdkafkaLogger.error("\(fac): \(text)")
            case 4: librdkafkaLogger.warning("\(fac): \(text)")
            case 5, 6: librdkafkaLogger.info("\(fac): \(text)")
            default: librdkafkaLogger.debug("\(fac): \(text)")
            }
        }
        var errbuf = [CChar](repeating: 0, count: 512)
        for (key, value) in properties.sorted(by: { $0.key < $1.key }) {
            if rd_kafka_conf_set(conf, key, value, &errbuf, errbuf.count) != RD_KAFKA_CONF_OK {
                rd_kafka_conf_destroy(conf)
                let reason = errorText(errbuf)
                throw KafkaError(.configuration, "kafka property '\(key)': \(Self.isSecret(key) ? "invalid value" : reason)")
            }
        }
        return conf
    }
}

/// One record read from or written to a topic.
public struct KafkaMessage: Sendable {
    public var topic: String
    public var partition: Int32
    public var offset: Int64
    public var key: [UInt8]?
    public var value: [UInt8]
    /// Broker/producer timestamp in epoch milliseconds (-1 when absent).
    public var timestamp: Int64

    public init(topic: String, partition: Int32, offset: Int64, key: [UInt8]?, value: [UInt8], timestamp: Int64) {
        self.topic = topic
        self.partition = partition
        self.offset = offset
        self.key = key
        self.value = value
        self.timestamp = timestamp
    }
}

/// A topic partition and an offset (the next offset to read, as Kafka commits them).
public struct TopicPartitionOffset: Hashable, Sendable {
    public var topic: String
    public var partition: Int32
    public var offset: Int64
    public init(topic: String, partition: Int32, offset: Int64) {
        self.topic = topic
        self.partition = partition
        self.offset = offset
    }
}

/// Offset sentinels understood by `assign`/`seek`.
public enum KafkaOffset {
    public static let beginning: Int64 = Int64(RD_KAFKA_OFFSET_BEGINNING)
    public static let end: Int64 = Int64(RD_KAFKA_OFFSET_END)
    public static let stored: Int64 = Int64(RD_KAFKA_OFFSET_STORED)
}

/// Builds and frees librdkafka partition lists; the only place they are made.
enum PartitionList {
    static func make(_ items: [TopicPartitionOffset]) -> UnsafeMutablePointer<rd_kafka_topic_partition_list_t> {
        let list = rd_kafka_topic_partition_list_new(Int32(max(items.count, 1)))!
        for item in items {
            let tp = rd_kafka_topic_partition_list_add(list, item.topic, item.partition)!
            tp.pointee.offset = item.offset
        }
        return list
    }

    static func read(_ list: UnsafePointer<rd_kafka_topic_partition_list_t>) -> [TopicPartitionOffset] {
        (0..<Int(list.pointee.cnt)).map { i in
            let tp = list.pointee.elems[i]
            return TopicPartitionOffset(topic: String(cString: tp.topic), partition: tp.partition, offset: tp.offset)
        }
    }
}
