import ArgumentParser
import Foundation
import Kafka
import Logging
import Pipeline

/// `streamcast demo`: embedded broker + the bundled sample log + the service, in one command.
struct DemoCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "demo", abstract: "Run everything on the embedded broker with the bundled sample log.")

    @Option(help: "Broker port.") var port = 9092
    @Option(help: "Sample log to replay.") var sample = "Replays/sample-daily.jsonl.gz"
    @Option(help: "Checkpoint file (a fresh one each demo).") var state = "demo-state.sqlite"
    @Flag(help: "Exit once the sample is consumed instead of running until Ctrl-C.") var exitWhenDone = false
    @Option(help: "Serve /metrics on ADDR:PORT.") var http = "127.0.0.1:8080"

    func run() async throws {
        var settings = try PipelineOptions.parse([]).settings()
        settings.statePath = state
        for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: state + suffix) }
        let broker = try startBroker(port: port, partitions: settings.pipeline.partitions, topics: settings.pipeline.topics)
        let bootstrap = broker.bootstrapServers
        settings.kafka["bootstrap.servers"] = bootstrap
        say("1. embedded broker on \(bootstrap)")
        MetricsEndpoint.bootstrap()
        let handle = MonitorHandle()
        let web = try MetricsEndpoint.application(address: http, monitor: handle)
        let webTask = Task { try await web.runService() }
        let published = try publish(file: sample, settings: settings, bootstrap: bootstrap, speed: nil)
        say("2. replayed \(published) events from \(sample) into \(settings.pipeline.topics.inputs.joined(separator: ", "))")
        let service = try KafkaService(config: settings.pipeline, kafka: settings.kafkaConfig(bootstrap: bootstrap),
                                       statePath: state, groupID: "streamcast-demo", logger: Logger(label: "streamcast"))
        handle.monitor = service.monitor
        let stop = StopFlag()
        for sig in [SIGINT, SIGTERM] { signal(sig, SIG_IGN) }
        let sources = [SIGINT, SIGTERM].map { sig in
            let s = DispatchSource.makeSignalSource(signal: sig, queue: .global())
            s.setEventHandler { stop.stop() }
            s.resume()
            return s
        }
        say("3. forecasting (\(settings.pipeline.forecaster), \(settings.pipeline.windows.period.rawValue)s, H=\(settings.pipeline.horizons), quantiles \(settings.pipeline.quantiles))")
        var announced = false
        try service.run {
            if !announced && service.stats.events >= published {
                announced = true
                let s = service.stats
                say("4. consumed all \(s.events) events: \(s.forecasts) forecasts on topic '\(settings.pipeline.topics.forecasts)', dead letters \(s.deadLetters) on '\(settings.pipeline.topics.deadLetter)'")
                say("   read them:   kcat -C -b \(bootstrap) -t \(settings.pipeline.topics.forecasts) -o -5 -e")
                say("   checkpoint:  sqlite3 \(state) 'select * from offsets'")
                say("   metrics:     curl http://\(http)/metrics")
                say("   dashboard:   http://\(http)/   (or: streamcast monitor --http \(http))")
                say("   drift:       kcat -C -b \(bootstrap) -t \(settings.pipeline.topics.drift) -e")
                say("   Ctrl-C stops the demo")
            }
            return stop.isStopped || (announced && exitWhenDone)
        }
        _ = sources
        _ = webTask  // ends with the process
        say("demo stopped")
    }
}
