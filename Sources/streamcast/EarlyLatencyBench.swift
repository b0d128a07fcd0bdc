import ArgumentParser
import Events
import Forecasting
import Foundation
import Kafka
import NeuralNet
import Pipeline
import Windows

/// Event → early-refreshed forecast on the output topic, end to end over Kafka: an embedded broker,
/// the service (KafkaService) on its own thread, a producer sending page-view surges and a consumer
/// on the forecasts topic, all in this process so one clock times them.
struct EarlyLatencyBench: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "early-latency",
                                                    abstract: "Latency from a page-view surge to its early-refresh forecast on the forecasts topic (p50/p99).")
    @Option(help: "Products with history.") var products = 2000
    @Option(help: "Trigger events (one per product).") var triggers = 1000
    @Option(help: "Pause between triggers (ms).") var gapMs = 5.0
    @Option(help: "Model file (default: a fresh network with default sizes, daily).") var model: String?

    func run() throws {
        let mq = try benchModel(model)
        var config = PipelineConfig()
        config.windows = WindowConfig(period: .day, length: max(56, mq.network.config.context), lateness: 0)
        config.horizons = mq.network.config.horizons
        config.earlyRefresh = EarlyRefresh()
        let broker = try startBroker(port: 0, partitions: config.partitions, topics: config.topics)
        // Latency settings: no producer linger, short fetch waits.
        let kafka = KafkaConfig(bootstrapServers: broker.bootstrapServers, properties: ["linger.ms": "0", "fetch.wait.max.ms": "5", "fetch.error.backoff.ms": "5"])
        let producer = try KafkaProducer(config: kafka)
        let day: Int64 = 86_400_000, start: Int64 = 1_704_067_200_000
        func send(_ kind: EventKind, _ i: Int, at time: Int64, _ quantity: Int) throws {
            let product = "P\(i)"
            let line = kind == .sale
                ? #"{"type":"sale","product":"\#(product)","ts":"\#(Timestamp.format(time))","units":\#(quantity)}"#
                : #"{"type":"page_view","product":"\#(product)","ts":"\#(Timestamp.format(time))","views":\#(quantity)}"#
            try producer.send(topic: config.topics.topic(for: kind), partition: Partitioner.partition(product: product, partitions: config.partitions),
                              key: Array(product.utf8), value: Array(line.utf8))
        }
        // 29 closed days of history; day 29 opened by one event per product.
        for d in 0...29 {
            for i in 0..<products {
                try send(.sale, i, at: start + Int64(d) * day + day / 2 + Int64(d == 29 ? -day / 2 + 1000 : 0), 1 + (i + d) % 4)
                try send(.pageView, i, at: start + Int64(d) * day + day / 2 + Int64(d == 29 ? -day / 2 + 1000 : 0), 10)
            }
            producer.poll()
        }
        try producer.flush()
        let state = FileManager.default.temporaryDirectory.appendingPathComponent("early-latency-\(UUID().uuidString).sqlite").path
        defer { try? FileManager.default.removeItem(atPath: state) }
        let service = try KafkaService(config: config, kafka: kafka, statePath: state, groupID: "bench-service", forecaster: MQForecaster(model: mq))
        let stop = StopFlag()
        let box = UncheckedBox(service)
        let thread = Thread { try? box.value.run { stop.isStopped } }
        thread.start()
        var consumerConfig = kafka
        consumerConfig["group.id"] = "bench-reader"
        consumerConfig["auto.offset.reset"] = "earliest"
        let reader = try KafkaConsumer(config: consumerConfig)
        try reader.subscribe([config.topics.forecasts, config.topics.pageViews])
        let openFCT = Timestamp.format(start + 29 * day), lastFCT = Timestamp.format(start + 28 * day)
        var regular = 0
        let deadline = Date().addingTimeInterval(120)
        while regular < products && Date() < deadline {
            for case .message(let m) in try reader.poll(max: 10_000, timeoutMs: 100)
                where m.topic == config.topics.forecasts && String(decoding: m.value, as: UTF8.self).contains(#""fct":"\#(lastFCT)""#) { regular += 1 }
        }
        say("history: \(regular) forecasts at the last closed period read; sending \(triggers) page-view surges")
        var sent: [String: UInt64] = [:], latencies: [Double] = [], transport: [Double] = []
        var sentAt: [String: UInt64] = [:]
        func collect(_ timeoutMs: Int32) throws {
            for case .message(let m) in try reader.poll(max: 10_000, timeoutMs: timeoutMs) {
                let now = DispatchTime.now().uptimeNanoseconds
                if m.topic == config.topics.pageViews {
                    // The trigger itself, read back: the broker's share of the latency.
                    if let key = m.key, let t0 = sentAt[String(decoding: key, as: UTF8.self)], String(decoding: m.value, as: UTF8.self).contains(#""views":200"#) {
                        transport.append(Double(now - t0) / 1e6)
                    }
                    continue
                }
                guard String(decoding: m.value, as: UTF8.self).contains(#""fct":"\#(openFCT)""#), let key = m.key,
                      let t0 = sent.removeValue(forKey: String(decoding: key, as: UTF8.self)) else { continue }
                latencies.append(Double(now - t0) / 1e6)
            }
        }
        for i in 0..<min(triggers, products) {
            sent["P\(i)"] = DispatchTime.now().uptimeNanoseconds
            sentAt["P\(i)"] = sent["P\(i)"]
            try send(.pageView, i, at: start + 29 * day + day / 2, 200)
            producer.poll()
            try collect(0)
            usleep(UInt32(gapMs * 1000))
        }
        let end = Date().addingTimeInterval(30)
        while !sent.isEmpty && Date() < end { try collect(50) }
        stop.stop()
        while thread.isExecuting { usleep(10_000) }
        func pct(_ xs: [Double], _ p: Double) -> Double { xs.isEmpty ? .nan : xs.sorted()[min(xs.count - 1, Int(p * Double(xs.count)))] }
        say(String(format: "early refresh latency, event produced → forecast consumed: p50 %.1f ms, p99 %.1f ms, max %.1f ms over %d (%d missing); model L=%d H=%d",
                   pct(latencies, 0.5), pct(latencies, 0.99), latencies.max() ?? .nan, latencies.count, sent.count, mq.network.config.context, mq.network.config.horizons))
        say(String(format: "  for reference, the trigger event itself produced → consumed (broker round trip): p50 %.1f ms, p99 %.1f ms over %d",
                   pct(transport, 0.5), pct(transport, 0.99), transport.count))
    }
}

/// Hands a non-Sendable object to the one thread that uses it from then on.
struct UncheckedBox<T>: @unchecked Sendable {
    let value: T
    init(_ value: T) { self.value = value }
}
