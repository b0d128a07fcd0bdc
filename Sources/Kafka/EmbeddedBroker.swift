import CKafkaShim
import CRdKafka
import Logging

/// The development broker: librdkafka's mock cluster, listening on 127.0.0.1.
///
/// It speaks the real Kafka protocol, so kcat, confluent-kafka and StreamCast itself connect to it
/// as to any broker. In memory only and keeps roughly the last 5 MB per partition: not for
/// production. Port 0 picks a free port (tests); otherwise the given port is used.
/// Unchecked Sendable: librdkafka's mock cluster handle is thread-safe; the Swift side holds no mutable state.
public final class EmbeddedBroker: @unchecked Sendable {
    private let handle: OpaquePointer
    private let cluster: OpaquePointer
    public let bootstrapServers: String
    public var port: Int { Int(bootstrapServers.split(separator: ":").last.flatMap { Int($0) } ?? 0) }

    public init(port: Int = 9092, brokers: Int = 1) throws {
        let conf = rd_kafka_conf_new()!
        var errbuf = [CChar](repeating: 0, count: 512)
        rd_kafka_conf_set(conf, "log_level", "3", &errbuf, errbuf.count)
        guard let rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, &errbuf, errbuf.count) else {
            throw KafkaError(.broker, "cannot create mock cluster handle: \(errorText(errbuf))")
        }
        if port != 0 { ck_arm_next_loopback_port(UInt16(port)) }
        let mc = rd_kafka_mock_cluster_new(rk, Int32(brokers))
        let unused = ck_armed_port()
        ck_arm_next_loopback_port(0)
        guard let mc else {
            rd_kafka_destroy(rk)
            throw KafkaError(.broker, "cannot start the mock cluster")
        }
        handle = rk
        cluster = mc
        bootstrapServers = String(cString: rd_kafka_mock_cluster_bootstraps(mc))
        if port != 0 && (unused != 0 || !bootstrapServers.hasSuffix(":\(port)")) {
            rd_kafka_mock_cluster_destroy(mc)
            rd_kafka_destroy(rk)
            throw KafkaError(.broker, "cannot listen on 127.0.0.1:\(port) (in use?)")
        }
    }

    deinit {
        rd_kafka_mock_cluster_destroy(cluster)
        rd_kafka_destroy(handle)
    }

    /// Creates a topic (idempotent on the mock cluster).
    public func createTopic(_ name: String, partitions: Int) throws {
        let err = rd_kafka_mock_topic_create(cluster, name, Int32(partitions), 1)
        if err != RD_KAFKA_RESP_ERR_NO_ERROR && err != RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS {
            throw KafkaError(.topic, err, context: "create topic \(name)")
        }
    }

    /// Takes a broker down (connections refused) or back up: for outage tests.
    public func setBroker(_ id: Int32, up: Bool) {
        if up { rd_kafka_mock_broker_set_up(cluster, id) } else { rd_kafka_mock_broker_set_down(cluster, id) }
    }
}
