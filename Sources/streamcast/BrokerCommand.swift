import ArgumentParser
import Foundation
import Kafka
import Pipeline

/// `streamcast broker`: the embedded development broker, until SIGINT/SIGTERM. SIGUSR1/SIGUSR2
/// take it down and bring it back (outage drills and tests); SIGHUP is ignored, so a hangup meant
/// for another process (or a closed terminal) does not take the broker away.
struct BrokerCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "broker",
        abstract: "Embedded development Kafka broker on 127.0.0.1 (librdkafka mock cluster; in memory; not for production).")

    @Option(help: "Port to listen on (0 = any free port).") var port = 9092
    @Option(help: "Partitions of each pre-created topic.") var partitions = 4
    @Option(help: "Configuration file for topic names.") var config: String?

    func run() throws {
        let settings = try PipelineOptions.parse(config.map { ["--config", $0] } ?? []).settings()
        let broker = try EmbeddedBroker.start(port: port, partitions: partitions, topics: settings.pipeline.topics)
        say("broker listening on \(broker.bootstrapServers) (topics: \(settings.pipeline.topics.all.joined(separator: ", ")); \(partitions) partitions each)")
        signal(SIGHUP, SIG_IGN)
        // Outage drills: SIGUSR1 takes the broker down (connections refused), SIGUSR2 brings it back.
        for (sig, up) in [(SIGUSR1, false), (SIGUSR2, true)] {
            Signals.on(sig) {
                broker.setBroker(1, up: up)
                say(up ? "broker up" : "broker down")
            }
        }
        Signals.waitForStop()
        say("broker stopped")
    }
}


