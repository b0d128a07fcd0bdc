import CRdKafka

/// Topic administration for real clusters (the embedded broker pre-creates its topics).
public enum KafkaAdmin {
    /// Creates the topics that do not exist yet. Returns the names created; an existing topic is
    /// not an error. `replicationFactor` -1 = the broker's default; `topicConfig` sets topic
    /// properties such as cleanup.policy.
    @discardableResult
    public static func createTopics(config: KafkaConfig, topics: [String], partitions: Int, topicConfig: [String: String] = [:],
                                    replicationFactor: Int = -1, timeoutMs: Int32 = 15_000) throws -> [String] {
        let conf = try config.makeConf()
        var errbuf = [CChar](repeating: 0, count: 512)
        guard let rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, &errbuf, errbuf.count) else {
            rd_kafka_conf_destroy(conf)
            throw KafkaError(.client, "cannot create admin client: \(errorText(errbuf))")
        }
        defer { rd_kafka_destroy(rk) }
        var newTopics: [OpaquePointer?] = []
        defer { for t in newTopics { rd_kafka_NewTopic_destroy(t) } }
        for name in topics {
            guard let t = rd_kafka_NewTopic_new(name, Int32(partitions), Int32(replicationFactor), &errbuf, errbuf.count) else {
                throw KafkaError(.topic, "topic \(name): \(errorText(errbuf))")
            }
            newTopics.append(t)
            for (key, value) in topicConfig.sorted(by: { $0.key < $1.key }) {
                let err = rd_kafka_NewTopic_set_config(t, key, value)
                if err != RD_KAFKA_RESP_ERR_NO_ERROR { throw KafkaError(.topic, err, context: "topic \(name): \(key)") }
            }
        }
        let queue = rd_kafka_queue_new(rk)
        defer { rd_kafka_queue_destroy(queue) }
        let options = rd_kafka_AdminOptions_new(rk, RD_KAFKA_ADMIN_OP_CREATETOPICS)
        defer { rd_kafka_AdminOptions_destroy(options) }
        rd_kafka_AdminOptions_set_operation_timeout(options, timeoutMs, &errbuf, errbuf.count)
        newTopics.withUnsafeMutableBufferPointer { rd_kafka_CreateTopics(rk, $0.baseAddress, $0.count, options, queue) }
        guard let event = rd_kafka_queue_poll(queue, timeoutMs + 5000) else {
            throw KafkaError(.timeout, "create topics: no answer from the cluster within \(timeoutMs + 5000) ms (the embedded broker has no CreateTopics API: its topics are pre-created)")
        }
        defer { rd_kafka_event_destroy(event) }
        if rd_kafka_event_error(event) != RD_KAFKA_RESP_ERR_NO_ERROR {
            throw KafkaError(.topic, "create topics: \(String(cString: rd_kafka_event_error_string(event)))")
        }
        guard let result = rd_kafka_event_CreateTopics_result(event) else { throw KafkaError(.topic, "create topics: unexpected result") }
        var count = 0
        guard let results = rd_kafka_CreateTopics_result_topics(result, &count) else { return [] }
        var created: [String] = []
        for i in 0..<count {
            let r = results[i]
            let name = String(cString: rd_kafka_topic_result_name(r))
            let err = rd_kafka_topic_result_error(r)
            if err == RD_KAFKA_RESP_ERR_NO_ERROR { created.append(name); continue }
            if err == RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS { continue }
            throw KafkaError(.topic, err, context: "create topic \(name)")
        }
        return created
    }
}
