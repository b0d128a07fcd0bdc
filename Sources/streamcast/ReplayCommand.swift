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

/// Publishes a replay file with the settings' Kafka properties, topics and partitions
/// (`ReplayPublisher`), with progress lines on stderr.
func publish(file: String, settings: Settings, bootstrap: String?, speed: Double?, progress: Bool = true) throws -> Int {
    try ReplayPublisher.publish(file: file, kafka: settings.kafkaConfig(bootstrap: bootstrap), topics: settings.pipeline.topics,
                                partitions: settings.pipeline.partitions, speed: speed,
                                progress: progress ? { progressLine("publish", lines: $0.lines, bytes: $0.bytesRead, seconds: $0.seconds) } : nil)
}
