import Foundation
import Testing

/// A short run of the mutation fuzzer (the long one is a documented command: docs/operations.md).
/// A crash kills the process, so exit status 0 is the assertion.
@Suite struct FuzzTests {
    @Test func decoderAndReplayReaderSurviveMutatedInput() throws {
        let (status, out) = try Harness.streamcast(["fuzz", "--inputs", "30000", "--seed", "\(UInt64.random(in: 1...1_000_000))"])
        #expect(status == 0 && out.contains("30000 inputs") && out.contains("0 crashes"), "\(out)")
    }
}
