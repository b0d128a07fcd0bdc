import Events
import Foundation
import Kafka
import Synchronization

/// Publishes a replay file to Kafka as the service expects to read it: each line to the topic of
/// its kind, on the partition of its product (Kafka's default partitioner), so offline and Kafka
/// runs group products identically. Lines that do not decode are published as they are to the
/// first input topic: the service dead-letters them.
public enum ReplayPublisher {
    /// What a publish has done so far (for progress lines).
    public struct Progress: Sendable {
        public var lines: Int64
        public var bytesRead: Int
        public var seconds: Double
    }

    /// Returns the number of lines published. `speed`: event time runs this many times faster
    /// than the wall clock (nil: as fast as the producer goes). `progress` is called every ~2 s.
    public static func publish(file: String, kafka: KafkaConfig, topics: Topics, partitions: Int, speed: Double? = nil,
                               progress: ((Progress) -> Void)? = nil) throws -> Int {
        let producer = try KafkaProducer(config: kafka)
        let reader = try ReplayReader(path: file)
        let decoder = EventDecoder(maxMessageBytes: Int.max)
        var count = 0
        var firstEventTime: Int64?
        let started = Date()
        var lastReport = started
        try reader.forEachLine { line, _ in
            let value = Array(line)
            switch decoder.decode(line) {
            case .success(let e):
                if let speed {
                    let t0 = firstEventTime ?? e.time
                    firstEventTime = t0
                    let due = Double(e.time - t0) / 1000 / speed - Date().timeIntervalSince(started)
                    if due > 0 { Thread.sleep(forTimeInterval: due) }
                }
                let key = Array(e.product.utf8)
                try producer.send(topic: topics.topic(for: e.kind), partition: Partitioner.partition(key: key, partitions: partitions),
                                  key: key, value: value)
            case .failure:
                try producer.send(topic: topics.inputs[0], partition: 0, key: nil, value: value)
            }
            count += 1
            if let progress, count & 0x3FFF == 0, Date().timeIntervalSince(lastReport) > 2 {
                lastReport = Date()
                progress(Progress(lines: Int64(count), bytesRead: reader.position, seconds: lastReport.timeIntervalSince(started)))
            }
        }
        try producer.flush(timeoutMs: 120_000)
        producer.close()
        return count
    }
}

extension Topics {
    /// Every topic the pipeline reads or writes that a development broker should hold.
    public var all: [String] { inputs + [forecasts, deadLetter, drift] + (changelog.map { [$0] } ?? []) }
}

extension EmbeddedBroker {
    /// A development broker holding the pipeline's topics, `partitions` each.
    public static func start(port: Int, partitions: Int, topics: Topics) throws -> EmbeddedBroker {
        let broker = try EmbeddedBroker(port: port)
        for topic in topics.all { try broker.createTopic(topic, partitions: partitions) }
        return broker
    }
}

/// A flag one thread sets and others read: how a service running on its own thread is told to stop.
public final class StopFlag: Sendable {
    private let stopped = Atomic<Bool>(false)
    public init() {}
    public func stop() { stopped.store(true, ordering: .releasing) }
    public var isStopped: Bool { stopped.load(ordering: .acquiring) }
}
