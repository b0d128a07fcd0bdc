import Events
import Forecasting
import Foundation
import Kafka
import Pipeline
import Simulation
import Windows

/// Event → early-refreshed forecast on the output topic, end to end over Kafka: an embedded broker,
/// the service (KafkaService) on its own thread, a producer sending page-view surges and a consumer
/// on the forecasts topic, all in this process so one clock times them.
public struct EarlyLatencyBenchmark {
    /// Products with history.
    public var products = 2000
    /// Trigger events (one per product).
    public var triggers = 1000
    /// Pause between triggers (ms).
    public var gapMs = 5.0
    /// Model file (nil: a fresh network with default sizes, daily).
    public var model: String?
    public init() {}

    static let day: Int64 = 86_400_000, start: Int64 = 1_704_067_200_000

    public func run(_ out: BenchOutput) throws {
        let mq = try benchModel(model)
        var config = PipelineConfig()
        config.windows = WindowConfig(period: .day, length: max(56, mq.network.config.context), lateness: 0)
        config.horizons = mq.network.config.horizons
        config.earlyRefresh = EarlyRefresh()
        let broker = try EmbeddedBroker.start(port: 0, partitions: config.partitions, topics: config.topics)
        // Latency settings: no producer linger, short fetch waits.
        let kafka = KafkaConfig(bootstrapServers: broker.bootstrapServers, properties: ["linger.ms": "0", "fetch.wait.max.ms": "5", "fetch.error.backoff.ms": "5"])
        let producer = try KafkaProducer(config: kafka)
        // 29 closed days of history; day 29 opened by one event per product.
        for d in 0...29 {
            let at = Self.start + Int64(d) * Self.day + Self.day / 2 + Int64(d == 29 ? -Self.day / 2 + 1000 : 0)
            for i in 0..<products {
                try send(producer, config, .sale, i, at: at, 1 + (i + d) % 4)
                try send(producer, config, .pageView, i, at: at, 10)
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
        let regular = try awaitHistory(reader, config)
        out.result("history: \(regular) forecasts at the last closed period read; sending \(triggers) page-view surges")
        let (latencies, transport, missing) = try measure(producer, reader, config)
        stop.stop()
        while thread.isExecuting { usleep(10_000) }
        func pct(_ xs: [Double], _ p: Double) -> Double { xs.isEmpty ? .nan : xs.sorted()[min(xs.count - 1, Int(p * Double(xs.count)))] }
        out.result(String(format: "early refresh latency, event produced → forecast consumed: p50 %.1f ms, p99 %.1f ms, max %.1f ms over %d (%d missing); model L=%d H=%d",
                          pct(latencies, 0.5), pct(latencies, 0.99), latencies.max() ?? .nan, latencies.count, missing, mq.network.config.context, mq.network.config.horizons))
        out.result(String(format: "  for reference, the trigger event itself produced → consumed (broker round trip): p50 %.1f ms, p99 %.1f ms over %d",
                          pct(transport, 0.5), pct(transport, 0.99), transport.count))
    }

    func send(_ producer: KafkaProducer, _ config: PipelineConfig, _ kind: EventKind, _ i: Int, at time: Int64, _ quantity: Int) throws {
        let product = "P\(i)"
        try producer.send(topic: config.topics.topic(for: kind), partition: Partitioner.partition(product: product, partitions: config.partitions),
                          key: Array(product.utf8), value: Array(eventLine(kind, product, at: time, quantity).utf8))
    }

    /// Reads the forecasts topic until every product's forecast at the last closed day is there
    /// (at most 2 minutes); returns how many were.
    func awaitHistory(_ reader: KafkaConsumer, _ config: PipelineConfig) throws -> Int {
        let lastFCT = Timestamp.format(Self.start + 28 * Self.day)
        var regular = 0
        let deadline = Date().addingTimeInterval(120)
        while regular < products && Date() < deadline {
            for case .message(let m) in try reader.poll(max: 10_000, timeoutMs: 100)
                where m.topic == config.topics.forecasts && String(decoding: m.value, as: UTF8.self).contains(#""fct":"\#(lastFCT)""#) { regular += 1 }
        }
        return regular
    }

    /// Sends one page-view surge per product and times each to its early-refreshed forecast (and
    /// to the surge event itself, read back: the broker's share). Returns both, and how many
    /// forecasts never came.
    func measure(_ producer: KafkaProducer, _ reader: KafkaConsumer, _ config: PipelineConfig) throws -> (latencies: [Double], transport: [Double], missing: Int) {
        let openFCT = Timestamp.format(Self.start + 29 * Self.day)
        var sent: [String: UInt64] = [:], sentAt: [String: UInt64] = [:]
        var latencies: [Double] = [], transport: [Double] = []
        func collect(_ timeoutMs: Int32) throws {
            for case .message(let m) in try reader.poll(max: 10_000, timeoutMs: timeoutMs) {
                let now = DispatchTime.now().uptimeNanoseconds
                if m.topic == config.topics.pageViews {
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
            try send(producer, config, .pageView, i, at: Self.start + 29 * Self.day + Self.day / 2, 200)
            producer.poll()
            try collect(0)
            usleep(UInt32(gapMs * 1000))
        }
        let end = Date().addingTimeInterval(30)
        while !sent.isEmpty && Date() < end { try collect(50) }
        return (latencies, transport, sent.count)
    }
}

/// Soak: a steady event rate through the broker into the service for a long time, RSS sampled
/// every 10 s. With the embedded broker everything runs in this process (broker, producer,
/// service), so the RSS is theirs together; the broker's share is bounded by its ~5 MB per
/// partition retention.
public struct SoakBenchmark {
    public var rate = 50_000
    public var minutes = 30.0
    /// Minutes of warm-up excluded from the RSS band.
    public var warmup = 5.0
    public var products = 20_000
    /// Wall seconds per simulated day (a period close refreshes every product).
    public var secondsPerDay = 60.0
    /// A broker to use instead of an embedded one, so the RSS is the service's alone.
    public var bootstrap: String?
    public init() {}

    public func run(_ out: BenchOutput) throws {
        var config = PipelineConfig()
        config.partitions = 8
        let broker = try bootstrap == nil ? EmbeddedBroker.start(port: 0, partitions: config.partitions, topics: config.topics) : nil
        let kafka = KafkaConfig(bootstrapServers: bootstrap ?? broker!.bootstrapServers, properties: [:])
        let state = FileManager.default.temporaryDirectory.appendingPathComponent("soak-\(UUID().uuidString).sqlite").path
        defer { for s in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: state + s) } }
        let service = try KafkaService(config: config, kafka: kafka, statePath: state, groupID: "soak")
        let stop = StopFlag()
        let box = UncheckedBox(service)
        let thread = Thread { do { try box.value.run { stop.isStopped } } catch { out.note("service stopped: \(error)") } }
        thread.start()
        let producer = try KafkaProducer(config: kafka)
        let start: Int64 = 1_704_067_200_000, msPerWallSecond = 86_400_000.0 / secondsPerDay
        let began = Date()
        var sent = 0, samples: [(t: Double, rss: Int)] = []
        var nextSample = 0.0
        var rng = SplitMix64(seed: 1)
        while true {
            let elapsed = Date().timeIntervalSince(began)
            if elapsed >= minutes * 60 { break }
            // Catch up to the target rate, in slices of 1 ms.
            let due = Int(elapsed * Double(rate))
            while sent < due {
                let i = Int(rng.next() % UInt64(products)), product = "P\(i)"
                let time = start + Int64(Double(sent) / Double(rate) * msPerWallSecond)
                let sale = rng.next() % 10 < 7
                let line = sale ? eventLine(.sale, product, at: time, 1 + Int(rng.next() % 3)) : eventLine(.pageView, product, at: time, 1)
                try producer.send(topic: sale ? config.topics.sales : config.topics.pageViews,
                                  partition: Partitioner.partition(product: product, partitions: config.partitions),
                                  key: Array(product.utf8), value: Array(line.utf8))
                sent += 1
                if sent % 1000 == 0 { producer.poll() }
            }
            if elapsed >= nextSample {
                samples.append((elapsed, memoryKB().rss))
                // (The service's counters belong to its thread: read them only at the end.)
                out.note(String(format: "soak %.0f s: %d events sent, RSS %.0f MB", elapsed, sent, Double(samples.last!.rss) / 1024))
                nextSample += 10
            }
            usleep(1000)
        }
        stop.stop()
        while thread.isExecuting { usleep(10_000) }
        let steady = samples.filter { $0.t >= warmup * 60 }.map(\.rss)
        let lo = steady.min() ?? 0, hi = steady.max() ?? 0
        out.result(String(format: "soak: %.0f min at %d events/s target: %d sent, %d consumed (%.0f/s), %d forecasts, dead letters %@; RSS after %.0f min warm-up %.0f–%.0f MB (band %.1f %% of the minimum)",
                          minutes, rate, sent, service.stats.events, Double(service.stats.events) / (minutes * 60), service.stats.forecasts,
                          "\(service.stats.deadLetters)", warmup, Double(lo) / 1024, Double(hi) / 1024, lo > 0 ? 100 * Double(hi - lo) / Double(lo) : 0))
    }
}
