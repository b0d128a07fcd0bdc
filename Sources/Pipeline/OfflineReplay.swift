import Foundation

/// Runs the pipeline over a replay file with no Kafka: the same processor as the service, with a
/// file as source, and the same result as publishing the file and running the service over it.
///
/// A first pass finds, for every input (topic partition), its last line: that is where the Kafka
/// path would see the end of that partition and stop waiting for it (PartitionWindows).
public enum OfflineReplay {
    public struct Progress: Sendable {
        public var lines: Int64
        public var bytesRead: Int
        public var seconds: Double
    }

    public static func run(path: String, processor: StreamProcessor,
                           progress: ((Progress) -> Void)? = nil) throws {
        struct Input: Hashable { var partition: Int32, topic: String }
        var lastLine: [Input: Int64] = [:]
        try ReplayReader(path: path).forEachLine { line, number in
            if let r = processor.route(processor.decodeReplayLine(line)) { lastLine[Input(partition: r.partition, topic: r.input)] = number }
        }
        for (p, inputs) in Dictionary(grouping: lastLine.keys, by: \.partition) {
            processor.register(partition: p, inputs: inputs.map(\.topic))
        }
        let endings = Dictionary(uniqueKeysWithValues: lastLine.map { ($0.value, ($0.key.topic, $0.key.partition)) })
        let reader = try ReplayReader(path: path)
        let started = Date()
        var lastReport = started
        var lines: Int64 = 0
        try reader.forEachLine { line, number in
            try processor.processReplayLine(line, lineNumber: number)
            if let (input, partition) = endings[number] { try processor.inputCaughtUp(input, partition: partition) }
            lines += 1
            if progress != nil, lines & 0xFFFF == 0 {
                let now = Date()
                if now.timeIntervalSince(lastReport) >= 2 {
                    lastReport = now
                    progress?(Progress(lines: lines, bytesRead: reader.position, seconds: now.timeIntervalSince(started)))
                }
            }
        }
        progress?(Progress(lines: lines, bytesRead: reader.position, seconds: Date().timeIntervalSince(started)))
    }
}
