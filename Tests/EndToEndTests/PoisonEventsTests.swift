import Foundation
import Testing

/// 1 % poison mixed into a simulated log at random places: every poison line is dead-lettered with
/// a reason and its line number, the counts are exact, and the good events' forecasts are
/// byte-identical to the clean log's.
@Suite struct PoisonEventsTests {
    /// One poison line of each class, built around a real product and time.
    static func poison(_ i: Int, product: String) -> (line: String, reason: String) {
        let ts = "2024-01-15T10:00:00Z"
        switch i % 12 {
        case 0: return (#"{"type":"sale","product":"\#(product)","ts":"\#(ts)","units":3"#, "malformed_json")       // broken JSON
        case 1: return (#"{"type":"sale","product":"\#(product)","ts":"\#(ts)","units":"many"}"#, "bad_units")     // wrong type
        case 2: return (#"{"type":"sale","ts":"\#(ts)","units":1}"#, "missing_product")                           // missing field
        case 3: return (#"{"type":"sale","product":"\#(product)","ts":"\#(ts)","units":NaN}"#, "malformed_json")  // NaN
        case 4: return (#"{"type":"page_view","product":"\#(product)","ts":"\#(ts)","views":-5}"#, "bad_views")   // negative
        case 5: return (#"{"type":"sale","product":"\#(product)","ts":"\#(ts)","units":1e12}"#, "bad_units")      // huge
        case 6: return (#"{"type":"sale","product":"\#(product)","ts":"2031-06-01T00:00:00Z","units":1}"#, "too_far_in_future")
        case 7: return (#"{"type":"sale","product":"\#(product)","ts":"1999-06-01T00:00:00Z","units":1}"#, "late")
        case 8: return (#"{"type":"refund","product":"\#(product)","ts":"\#(ts)","units":1}"#, "unknown_type")   // unknown kind
        case 9: return (#"{"type":"sale","product":"\#(product)","ts":"\#(ts)","units":1,"note":""# + String(repeating: "x", count: 70_000) + #""}"#, "oversized")
        case 10: return (#"{"type":"price","product":"\#(product)","ts":"\#(ts)","price":-1}"#, "bad_price")
        default: return ("[1,2,3]", "not_an_object")
        }
    }

    @Test func everyPoisonLineIsDeadLetteredAndForecastsAreUntouched() throws {
        let dir = Harness.temporaryDirectory()
        let clean = dir.appendingPathComponent("clean.jsonl")
        #expect(try Harness.streamcast(["simulate", "--products", "30", "--periods", "50", "--seed", "17", "--out", clean.path]).0 == 0)
        var lines = try String(contentsOf: clean, encoding: .utf8).split(separator: "\n").map(String.init)
        // 1 % poison at seeded random places after the first 5 % (before any input has a clock, a
        // wildly wrong first timestamp would set it: see docs/operations.md, "Known limits").
        var rng = SplitMix(seed: 5)
        let count = lines.count / 100
        var expected: [String: String] = [:]
        var positions = Set<Int>()
        while positions.count < count { positions.insert(lines.count / 20 + Int(rng.next() % UInt64(lines.count - lines.count / 20))) }
        for (n, at) in positions.sorted(by: >).enumerated() {
            let (line, reason) = Self.poison(n, product: "P0000\(n % 10)")
            lines.insert(line, at: at)
            expected[line] = reason
        }
        let poisoned = dir.appendingPathComponent("poisoned.jsonl")
        try (lines.joined(separator: "\n") + "\n").write(to: poisoned, atomically: true, encoding: .utf8)
        for (log, out) in [(clean, "clean-out.jsonl"), (poisoned, "poisoned-out.jsonl")] {
            #expect(try Harness.streamcast(["replay", log.path, "--offline", "--out", dir.appendingPathComponent(out).path]).0 == 0)
        }
        let read = { (name: String) in try String(contentsOf: dir.appendingPathComponent(name), encoding: .utf8) }
        #expect(try read("poisoned-out.jsonl") == read("clean-out.jsonl"), "the good events' forecasts are byte-identical")
        func letters(_ name: String) throws -> [[String: Any]] {
            try read(name).split(separator: "\n").map { try JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any] }
        }
        let cleanLetters = try letters("clean-out.jsonl.dlq.jsonl"), poisonedLetters = try letters("poisoned-out.jsonl.dlq.jsonl")
        #expect(poisonedLetters.count == cleanLetters.count + count, "exact counts: \(poisonedLetters.count) = \(cleanLetters.count) + \(count)")
        for (line, reason) in expected {
            let letter = poisonedLetters.first { $0["value"] as? String == line }
            #expect(letter?["reason"] as? String == reason, "\(reason): \(line.prefix(80)) → \(letter?["reason"] ?? "missing")")
            #expect((letter?["offset"] as? Int).map { lines[$0 - 1] == line || lines[$0] == line } == true, "source coordinates point at the line")
        }
    }
}

/// A seeded generator for the test's random placement.
struct SplitMix {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
