import Decisions
import Forecasting
import Foundation
import Kafka
import Monitoring

/// Produces forecasts (key = product) and dead letters (original key and bytes, reason and source
/// coordinates in headers). The wall-clock issue time goes into a header, never into the value.
public final class KafkaSink: PipelineSink {
    let producer: KafkaProducer
    let topics: Topics

    public init(producer: KafkaProducer, topics: Topics) {
        self.producer = producer
        self.topics = topics
    }

    public func emit(_ forecast: ForecastMessage) throws {
        let issued = String(Int64(Date().timeIntervalSince1970 * 1000))
        try producer.send(topic: topics.forecasts, key: Array(forecast.product.utf8), value: forecast.jsonBytes,
                          headers: [("streamcast.issued_at_ms", Array(issued.utf8))]
                              + (forecast.provisional ? [("streamcast.refresh", Array("early".utf8))] : []))
    }

    public func drift(_ alert: DriftAlert, json: [UInt8]) throws {
        try producer.send(topic: topics.drift, key: Array("\(alert.scope):\(alert.key)".utf8), value: json)
    }

    public func recommend(_ recommendation: Recommendation, json: [UInt8]) throws {
        try producer.send(topic: topics.recommendations, key: Array(recommendation.product.utf8), value: json,
                          headers: recommendation.provisional ? [("streamcast.refresh", Array("early".utf8))] : [])
    }

    public func deadLetter(_ letter: DeadLetter) throws {
        try producer.send(topic: topics.deadLetter, key: letter.key, value: letter.value, headers: [
            ("streamcast.reason", Array(letter.reason.utf8)),
            ("streamcast.detail", Array(letter.detail.utf8)),
            ("streamcast.source.topic", Array(letter.topic.utf8)),
            ("streamcast.source.partition", Array(String(letter.partition).utf8)),
            ("streamcast.source.offset", Array(String(letter.offset).utf8)),
        ])
    }

    public func flush() throws { try producer.flush(timeoutMs: 10_000) }
}
