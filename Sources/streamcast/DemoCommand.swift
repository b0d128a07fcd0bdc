import ArgumentParser
import Foundation
import Kafka
import Logging
import Pipeline

/// `streamcast demo`: embedded broker + the bundled sample log + the service serving the bundled
/// neural model, in one command; Ctrl-C stops it with a summary.
struct DemoCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "Run everything on the embedded broker: the bundled sample log, the neural model, the dashboard.")

    @Option(help: "Port of the embedded broker.") var port = 9092
    @Option(help: "Event log published into the input topics.") var sample = "Replays/sample-daily.jsonl.gz"
    @Option(help: "Model served (trained on the sample log; Replays/README.md has the command that made it).")
    var model = "Replays/sample-daily.safetensors"
    @Flag(help: "Serve the seasonal-naive baseline instead of the model.") var baseline = false
    @Option(help: "Checkpoint file (removed and written anew by each demo).") var state = "demo-state.sqlite"
    @Flag(help: "Exit once the sample is consumed instead of running until Ctrl-C.") var exitWhenDone = false
    @Option(help: "Address of the dashboard, /metrics and /healthz (HOST:PORT).") var http = "127.0.0.1:8080"

    func run() async throws {
        var settings = try PipelineOptions.parse([]).settings()
        settings.statePath = state
        settings.http = http
        settings.group = "streamcast-demo"
        if !baseline { settings.modelFile = model }
        for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: state + suffix) }
        try MetricsEndpoint.checkBindable(http)
        let broker = try EmbeddedBroker.start(port: port, partitions: settings.pipeline.partitions, topics: settings.pipeline.topics)
        let bootstrap = broker.bootstrapServers
        settings.kafka["bootstrap.servers"] = bootstrap
        let topics = settings.pipeline.topics
        say("1. embedded broker on \(bootstrap)")
        MetricsEndpoint.bootstrap()
        let published = try publish(file: sample, settings: settings, bootstrap: bootstrap, speed: nil)
        say("2. published \(published) events from \(sample) into \(topics.inputs.joined(separator: ", "))")
        let logger = Logger(label: "streamcast")
        let service = try ForecastService(settings: settings, logger: logger)
        let kafka = service.service
        say("3. forecasting with \(kafka.forecasterID) (\(settings.pipeline.windows.period.rawValue)s, H = \(settings.pipeline.horizons), quantiles \(settings.pipeline.quantiles))")
        var announced = false
        service.afterPoll = {
            if !announced && kafka.stats.events >= published {
                announced = true
                let s = kafka.stats
                say("4. consumed all \(s.events) events: \(s.forecasts) forecasts on '\(topics.forecasts)', dead letters \(s.deadLetters) on '\(topics.deadLetter)'")
                say("   dashboard:   http://\(http)/   (terminal: streamcast monitor --http \(http))")
                say("   forecasts:   kcat -C -b \(bootstrap) -t \(topics.forecasts) -o -5 -e")
                say("   subscriber:  python3 docs/examples/subscriber.py \(bootstrap)")
                say("   drift:       kcat -C -b \(bootstrap) -t \(topics.drift) -e")
                say("   orders:      kcat -C -b \(bootstrap) -t \(topics.recommendations) -o -5 -e   (what-if: curl 'http://\(http)/api/whatif?product=P00001&price=20')")
                say("   metrics:     curl http://\(http)/metrics")
                say("   checkpoint:  sqlite3 \(state) 'select * from offsets'")
                say(exitWhenDone ? "   stopping (--exit-when-done)" : "   Ctrl-C stops the demo")
            }
            return announced && exitWhenDone
        }
        try await serve(service, http: http, logger: logger)
        let s = kafka.stats
        say("demo stopped: \(s.events) events, \(s.forecasts) forecasts, dead letters \(s.deadLetters); checkpoint in \(state)")
    }
}
