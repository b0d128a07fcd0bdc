import Foundation
@testable import Kafka
import Testing

/// The C wrapper's edge cases against librdkafka's mock cluster in this process (a real
/// Kafka-protocol endpoint over TCP): configuration errors name the key and never a secret value,
/// messages round-trip with keys and partitions, end-of-partition is reported, the rebalance
/// callback's start offsets are honoured, a partition's first offset is asked of the broker, and
/// a flush with the broker down is a timeout, not a crash.
@Suite(.serialized) struct KafkaWrapperTests {
    @Test func badPropertiesNameTheKeyAndHideSecrets() {
        #expect(throws: KafkaError.self) { try KafkaConfig(properties: ["no.such.property": "1"]).validate() }
        do {
            try KafkaConfig(properties: ["no.such.property": "1"]).validate()
        } catch let e as KafkaError {
            #expect(e.kind == .configuration && KafkaConfig.key(of: e) == "no.such.property")
        } catch { Issue.record("unexpected \(error)") }
        do {
            try KafkaConfig(properties: ["ssl.key.password": "hunter2", "ssl.key.location": "/nonexistent/key.pem"]).validate()
        } catch let e as KafkaError {
            #expect(!e.message.contains("hunter2"))
        } catch { Issue.record("unexpected \(error)") }
        #expect(KafkaConfig(properties: ["sasl.password": "x"]).redacted["sasl.password"] == "[redacted]")
    }

    @Test func roundTripEndOfPartitionAndStartOffsets() throws {
        let broker = try EmbeddedBroker(port: 0)
        try broker.createTopic("t", partitions: 2)
        let config = KafkaConfig(bootstrapServers: broker.bootstrapServers)
        let producer = try KafkaProducer(config: config)
        for i in 0..<10 { try producer.send(topic: "t", partition: Int32(i % 2), key: Array("k\(i)".utf8), value: Array("v\(i)".utf8)) }
        try producer.flush(timeoutMs: 10_000)
        #expect(producer.deliveredCount == 10 && producer.failedCount == 0)

        // Start partition 0 at offset 3 (what a checkpoint would say), partition 1 at the beginning.
        var c = config
        c["group.id"] = "wrapper-test"
        let consumer = try KafkaConsumer(config: c, onAssign: { parts in
            parts.map { TopicPartitionOffset(topic: $0.topic, partition: $0.partition, offset: $0.partition == 0 ? 3 : KafkaOffset.beginning) }
        })
        try consumer.subscribe(["t"])
        var messages: [KafkaMessage] = [], ends = Set<Int32>()
        let deadline = Date().addingTimeInterval(30)
        while ends.count < 2 && Date() < deadline {
            for e in try consumer.poll(max: 100, timeoutMs: 200) {
                switch e {
                case .message(let m): messages.append(m)
                case .endOfPartition(_, let p, _): ends.insert(p)
                }
            }
        }
        #expect(ends == [0, 1], "both partitions report their end")
        #expect(messages.filter { $0.partition == 0 }.map(\.offset) == [3, 4], "partition 0 from the offset onAssign returned")
        #expect(messages.filter { $0.partition == 1 }.map { String(decoding: $0.value, as: UTF8.self) } == ["v1", "v3", "v5", "v7", "v9"])
        #expect(messages.allSatisfy { String(decoding: $0.key ?? [], as: UTF8.self) == "k" + String(decoding: $0.value, as: UTF8.self).dropFirst() })
        #expect(try consumer.firstOffset(topic: "t", partition: 1) == 0)
        consumer.close()
        producer.close()
    }

    @Test func aFlushWithTheBrokerDownTimesOut() throws {
        let broker = try EmbeddedBroker(port: 0)
        try broker.createTopic("t", partitions: 1)
        let producer = try KafkaProducer(config: KafkaConfig(bootstrapServers: broker.bootstrapServers))
        try producer.send(topic: "t", partition: 0, key: nil, value: [1])
        try producer.flush(timeoutMs: 10_000)
        broker.setBroker(1, up: false)
        try producer.send(topic: "t", partition: 0, key: nil, value: [2])
        do {
            try producer.flush(timeoutMs: 1_000)
            Issue.record("a flush with the broker down succeeded")
        } catch let e as KafkaError {
            #expect(e.kind == .timeout)
        }
        broker.setBroker(1, up: true)
        try producer.flush(timeoutMs: 20_000)
        #expect(producer.deliveredCount == 2)
        producer.close()
    }
}
