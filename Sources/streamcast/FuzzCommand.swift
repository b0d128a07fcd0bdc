import ArgumentParser
import Events
import Foundation
import Pipeline
import Simulation

/// `streamcast fuzz`: a mutation fuzzer for the event decoder and the replay reader. Seeds are
/// valid events of every kind; each input is a seed mutated by byte flips, truncation, splices,
/// duplicated or deleted spans, inserted JSON tokens and random bytes. The decoder must return an
/// event or a reason for every input (a crash ends the process: 0 crashes = it finished). Every
/// 1,000th input batch is also written as a replay file (plain and gzip, sometimes cut short) and
/// read back line by line.
struct FuzzCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "fuzz", abstract: "Fuzz the event decoder and the replay reader (mutation fuzzer).")
    @Option(help: "Inputs to try.") var inputs = 1_000_000
    @Option(help: "Random seed.") var seed: UInt64 = 1

    static let seeds = [
        #"{"type":"sale","product":"P1","ts":"2024-03-01T10:14:02Z","units":2,"category":"C1"}"#,
        #"{"type":"page_view","product":"P123","ts":"2024-03-01T10:14:02.123Z","views":1}"#,
        #"{"type":"price","product":"P9","ts":1709287200000,"price":9.99,"effective":"2024-03-05T00:00:00Z","promo":true}"#,
        #"{"product":"P\u00e9","type":"sale","ts":"2024-02-29T23:59:59+01:00","units":-1.5e0,"extra":{"a":[1,2,{"b":null}]}}"#,
    ]
    static let tokens = ["{", "}", "[", "]", ",", ":", "\"", "\\", "\\u", "\\ud800", "null", "true", "1e999", "-0", "NaN", "\u{0}", "\u{7f}", "é", "\"ts\"", "\"type\""]

    func run() throws {
        var rng = SplitMix64(seed: seed)
        let decoder = EventDecoder(maxMessageBytes: 4096)
        var accepted = 0, rejected = 0, readerRuns = 0
        var reasons: [String: Int] = [:]
        let started = Date()
        var batch: [[UInt8]] = []
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("streamcast-fuzz-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        for i in 0..<inputs {
            var bytes = Array(Self.seeds[Int(rng.next() % UInt64(Self.seeds.count))].utf8)
            for _ in 0...(rng.next() % 4) { mutate(&bytes, &rng) }
            switch bytes.withUnsafeBytes({ decoder.decode($0) }) {
            case .success: accepted += 1
            case .failure(let bad): rejected += 1; reasons[bad.reason.rawValue, default: 0] += 1
            }
            batch.append(bytes)
            if batch.count == 1000 {
                try readBack(batch, dir: dir, index: i, rng: &rng, decoder: decoder)
                readerRuns += 1
                batch.removeAll(keepingCapacity: true)
            }
        }
        say(String(format: "fuzz: %d inputs in %.1f s, 0 crashes; decoder accepted %d, rejected %d; replay reader %d files",
                   inputs, Date().timeIntervalSince(started), accepted, rejected, readerRuns))
        say("  rejections by reason: " + reasons.sorted { $0.value > $1.value }.map { "\($0.key) \($0.value)" }.joined(separator: ", "))
    }

    /// Writes a batch as a replay file (every other one gzipped, some cut short) and reads it back.
    func readBack(_ batch: [[UInt8]], dir: URL, index: Int, rng: inout SplitMix64, decoder: EventDecoder) throws {
        let gz = (index / 1000) % 2 == 1
        let path = dir.appendingPathComponent(gz ? "batch.jsonl.gz" : "batch.jsonl").path
        let writer = try LineWriter(path: path)
        for line in batch { line.filter { $0 != 10 }.withUnsafeBufferPointer { writer.write($0) } }
        writer.close()
        if rng.next() % 4 == 0, let data = FileManager.default.contents(atPath: path), data.count > 10 {
            try data.prefix(Int(rng.next() % UInt64(data.count))).write(to: URL(fileURLWithPath: path))  // a torn file
        }
        do { try ReplayReader(path: path).forEachLine { line, _ in _ = decoder.decode(line) } } catch {
            // A torn gzip file is an error the reader reports; what matters is that it does not crash.
        }
    }

    func mutate(_ b: inout [UInt8], _ rng: inout SplitMix64) {
        let n = b.count
        switch rng.next() % 7 {
        case 0 where n > 0: b[Int(rng.next() % UInt64(n))] ^= UInt8(1 << (rng.next() % 8))
        case 1 where n > 0: b.removeLast(Int(rng.next() % UInt64(n)))
        case 2 where n > 1:
            let at = Int(rng.next() % UInt64(n)), len = Int(rng.next() % UInt64(n - at))
            b.insert(contentsOf: Array(b[at..<(at + len)]), at: Int(rng.next() % UInt64(n)))
        case 3 where n > 1:
            let at = Int(rng.next() % UInt64(n)), len = Int(rng.next() % UInt64(n - at))
            b.removeSubrange(at..<(at + len))
        case 4: b.insert(contentsOf: Array(Self.tokens[Int(rng.next() % UInt64(Self.tokens.count))].utf8), at: n == 0 ? 0 : Int(rng.next() % UInt64(n)))
        case 5: b.append(contentsOf: (0..<(rng.next() % 16)).map { _ in UInt8(truncatingIfNeeded: rng.next()) })
        default:
            let other = Array(Self.seeds[Int(rng.next() % UInt64(Self.seeds.count))].utf8)
            b = Array(b.prefix(Int(rng.next() % UInt64(n + 1)))) + Array(other.suffix(Int(rng.next() % UInt64(other.count + 1))))
        }
    }
}
