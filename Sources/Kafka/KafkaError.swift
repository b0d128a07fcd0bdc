import CRdKafka

/// Errors from the Kafka layer. librdkafka codes are carried as a number and its text, so no C type
/// escapes this module.
public struct KafkaError: Error, CustomStringConvertible, Sendable {
    public enum Kind: Sendable { case configuration, client, topic, produce, consume, broker, timeout }
    public let kind: Kind
    public let code: Int32
    public let message: String

    public init(_ kind: Kind, code: Int32 = 0, _ message: String) {
        self.kind = kind
        self.code = code
        self.message = message
    }

    init(_ kind: Kind, _ err: rd_kafka_resp_err_t, context: String) {
        self.init(kind, code: err.rawValue, "\(context): \(String(cString: rd_kafka_err2str(err)))")
    }

    public var description: String { "Kafka \(kind) error: \(message)" }

    /// The broker said the topic or partition does not exist (not: it did not answer).
    public var isUnknownTopicOrPartition: Bool {
        code == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART.rawValue || code == RD_KAFKA_RESP_ERR__UNKNOWN_PARTITION.rawValue
            || code == RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC.rawValue
    }
}

/// The text librdkafka wrote into an error buffer (up to its terminating zero).
func errorText(_ buffer: [CChar]) -> String {
    String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
}
