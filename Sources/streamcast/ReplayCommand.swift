import ArgumentParser
import Events
import Forecasting
import Foundation
import Kafka
import Pipeline

/// `streamcast replay FILE`: publish a recorded log into Kafka, or run the pipeline over it offline.
struct ReplayCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "replay", abstract: "Replay a recorded event log (JSON Lines, .gz accepted).")

    @Argument(help: "Replay file.") var file: String
    @Flag(help: "Publish the log into the input topics.") var toKafka = false
    @Flag(help: "Run the pipeline from the file with no Kafka.") var offline = false
    @Option(help: "Forecast output file for --offline (JSON Lines; .gz compresses); drift alerts and order recommendations go beside it (OUT.drift.jsonl, OUT.recommendations.jsonl).") var out: String?
    @Option(help: "Dead-letter output file for --offline (default: OUT with .dlq.jsonl).") var dlqOut: String?
    @Option(help: "With --to-kafka: event-time speed-up factor (default: as fast as possible).") var speed: Double?
    @OptionGroup var options: PipelineOptions

    func validate() throws {
        guard toKafka != offline else { throw ValidationError("choose exactly one of --to-kafka or --offline") }
        if offline && out == nil { throw ValidationError("--offline needs --out FILE") }
    }

    func run() throws {
        let settings = try options.settings()
        if offline {
            let dlq = dlqOut ?? (out! + ".dlq.jsonl")
            let sink = try FileSink(forecastsPath: out!, deadLettersPath: dlq, driftPath: out! + ".drift.jsonl",
                                    recommendationsPath: out! + ".recommendations.jsonl")
            var pipeline = settings.pipeline
            let forecaster = try makeForecaster(settings)
            pipeline.windows.length = max(pipeline.windows.length, forecaster.contextLength)
            let processor = try StreamProcessor(config: pipeline, sink: sink, forecaster: forecaster)
            try OfflineReplay.run(path: file, processor: processor) { p in
                progressLine("replay", lines: p.lines, bytes: p.bytesRead, seconds: p.seconds)
            }
            try sink.flush()
            sink.close()
            let s = processor.stats
            say("offline replay: \(s.events) events, \(s.accepted) accepted, \(s.forecasts) forecasts → \(out!); dead letters \(s.deadLetters) → \(dlq); drift alerts → \(out!).drift.jsonl"
                + (s.recommendations > 0 ? "; \(s.recommendations) order recommendations → \(out!).recommendations.jsonl" : ""))
        } else {
            let n = try publish(file: file, settings: settings, bootstrap: options.bootstrap, speed: speed)
            say("published \(n) events to \(settings.pipeline.topics.inputs.joined(separator: ", "))")
        }
    }
}

/// Publishes each line of a replay file to the topic of its kind, on the partition of its product
/// (Kafka's default partitioner), so offline and Kafka runs group products identically. Lines that
/// do not decode are published as they are to the first input topic: the service dead-letters them.
func publish(file: String, settings: Settings, bootstrap: String?, speed: Double?, progress: Bool = true) throws -> Int {
    let producer = try KafkaProducer(config: settings.kafkaConfig(bootstrap: bootstrap))
    let reader = try ReplayReader(path: file)
    let decoder = EventDecoder(maxMessageBytes: Int.max)
    let topics = settings.pipeline.topics
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
            try producer.send(topic: topics.topic(for: e.kind),
                              partition: Partitioner.partition(key: key, partitions: settings.pipeline.partitions),
                              key: key, value: value)
        case .failure:
            try producer.send(topic: topics.inputs[0], partition: 0, key: nil, value: value)
        }
        count += 1
        if progress, count & 0x3FFF == 0, Date().timeIntervalSince(lastReport) > 2 {
            lastReport = Date()
            progressLine("publish", lines: Int64(count), bytes: reader.position, seconds: lastReport.timeIntervalSince(started))
        }
    }
    try producer.flush(timeoutMs: 120_000)
    producer.close()
    return count
}
