import ArgumentParser
import Foundation
import Kafka
import Pipeline

/// `streamcast record`: writes live input topics to a replay file, adding the Kafka coordinates
/// (`topic`, `partition`, `offset`, `kafka_ts`) to each line.
struct RecordCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "record", abstract: "Record live input topics to a replay file (the replay format, with each message's topic, partition and offset).")

    @Option(help: "Output file (.gz compresses).") var out: String
    @Option(help: "Stop after this many seconds without a new message (0 = run until signalled).") var idleExit: Double = 0
    @OptionGroup var options: ConnectionOptions

    func run() throws {
        let settings = try options.settings()
        var kafka = settings.kafkaConfig(bootstrap: nil)
        kafka["group.id"] = "streamcast-record-\(ProcessInfo.processInfo.processIdentifier)-\(Int(Date().timeIntervalSince1970))"
        let consumer = try KafkaConsumer(config: kafka)
        try consumer.subscribe(settings.pipeline.topics.inputs)
        let writer = try LineWriter(path: out)
        let stop = StopFlag()
        for sig in [SIGINT, SIGTERM] { Signals.on(sig) { stop.stop() } }
        var count = 0
        var lastMessage = Date()
        while !stop.isStopped {
            let batch = try consumer.poll(max: 5000, timeoutMs: 200)
            for case .message(let m) in batch {
                writer.write(Self.annotate(m))
                count += 1
                lastMessage = Date()
            }
            if idleExit > 0 && Date().timeIntervalSince(lastMessage) > idleExit { break }
        }
        writer.close()
        consumer.close()
        say("recorded \(count) messages to \(out)")
    }

    /// The message's JSON object with the Kafka coordinates appended (unknown extra fields are
    /// ignored by readers, per the contract). Values that are not JSON objects are kept verbatim.
    static func annotate(_ m: KafkaMessage) -> String {
        var text = String(decoding: m.value, as: UTF8.self)
        while text.last?.isWhitespace == true { text.removeLast() }
        guard text.hasSuffix("}"), text.first == "{", !text.contains("\n") else { return text.replacingOccurrences(of: "\n", with: " ") }
        text.removeLast()
        let sep = text.trimmingCharacters(in: .whitespaces) == "{" ? "" : ","
        return text + "\(sep)\"topic\":\"\(m.topic)\",\"partition\":\(m.partition),\"offset\":\(m.offset),\"kafka_ts\":\(m.timestamp)}"
    }
}
