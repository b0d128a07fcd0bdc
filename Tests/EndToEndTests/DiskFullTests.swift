import Foundation
import Testing

extension KafkaEndToEndTests {
    /// The checkpoint file cannot grow (a file-size limit, as on a full disk): the service stops with
    /// SQLite's "disk is full" error and a non-zero status, having committed nothing it could not
    /// write; a restart with room resumes from the last checkpoint and matches an offline run.
    @Test func fullDiskStopsCleanlyAndRestartResumes() throws {
        let (f, broker) = try Self.publishedFixture(seed: 41)
        let state = f.dir.appendingPathComponent("state.sqlite").path
        let log = f.dir.appendingPathComponent("run-1.log")
        // 400 KB for any file the service writes; SIGXFSZ ignored so writes fail with EFBIG instead.
        let limited = try Harness.start("bash", ["-c", "trap '' XFSZ; ulimit -f 400; exec \"$0\" \"$@\"", Harness.binary,
                                                 "run", "--state", state, "--http", "127.0.0.1:0"],
                                        log: log, environment: Self.serviceEnvironment(broker.bootstrap))
        defer { if limited.isRunning { limited.terminate(); limited.waitUntilExit() } }
        let stopped = Harness.waitUntil(timeout: 120) { !limited.isRunning }
        #expect(stopped && limited.terminationStatus != 0, "the service stops when the checkpoint cannot be written")
        let text = (try? String(contentsOf: log, encoding: .utf8)) ?? ""
        #expect(text.contains("disk is full") || text.contains("disk I/O error"), "the error names the cause: \(text.suffix(600))")
        let again = try Harness.start(Harness.binary, ["run", "--state", state, "--http", "127.0.0.1:0"], log: f.dir.appendingPathComponent("run-2.log"),
                                      environment: Self.serviceEnvironment(broker.bootstrap))
        defer { if again.isRunning { again.terminate(); again.waitUntilExit() } }
        #expect(try Harness.waitUntil(timeout: 120) { Set(try Self.forecastValues(broker.bootstrap)).count >= f.offline.count })
        #expect(Set(try Self.forecastValues(broker.bootstrap)) == Set(f.offline))
    }
}
