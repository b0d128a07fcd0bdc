import Foundation
import Testing

/// A short run of the mutation fuzzer (the long one is a documented command: docs/operations.md).
/// A crash kills the process, so exit status 0 is the assertion.
@Suite struct FuzzTests {
    @Test func decoderAndReplayReaderSurviveMutatedInput() throws {
        let (status, out) = try Harness.streamcast(["fuzz", "--inputs", "30000", "--seed", "\(UInt64.random(in: 1...1_000_000))"])
        #expect(status == 0 && out.contains("30000 inputs") && out.contains("0 crashes"), "\(out)")
    }

    /// Every input libFuzzer ever crashed on (and the seeds), kept in Tests/FuzzCorpus, replayed
    /// through the fuzz target's checks by its plain build (scripts/fuzz.sh is the long run).
    @Test func savedFuzzInputsStayFixed() throws {
        let fuzz = URL(fileURLWithPath: Harness.binary).deletingLastPathComponent().appendingPathComponent("streamcast-fuzz").path
        let corpus = Harness.packageRoot.appendingPathComponent("Tests/FuzzCorpus")
        let files = try FileManager.default.contentsOfDirectory(atPath: corpus.path).sorted().map { corpus.appendingPathComponent($0).path }
        #expect(files.contains { $0.hasSuffix("crash-invalid-utf8-product") })
        let (status, out) = try Harness.run(fuzz, files, environment: ["SWIFT_BACKTRACE": "enable=no"])
        #expect(status == 0 && out.split(separator: "\n").filter { $0.hasSuffix(": ok") }.count == files.count, "\(out)")
    }
}
