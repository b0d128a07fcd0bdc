import Foundation
import Testing

extension KafkaEndToEndTests {
    /// The checkpoint file is read-only (a restored backup with the wrong mode, a remounted volume).
    /// With `checkpoint.on_error = "exit"` the service stops with SQLite's error and a non-zero
    /// status; with `"retry"` it pauses, says so in the log and the metrics, and carries on once the
    /// file is writable again. The stored offsets never pass the stored state: after a kill -9 right
    /// after the recovery, a restart finishes with the forecasts of an undisturbed (offline) run —
    /// which also checks that the products changed before the failure reached the file.
    @Test func readOnlyStateFileStopsOrRetriesAsConfiguredAndLosesNothing() throws {
        let (f, broker) = try Self.publishedFixture(seed: 43)
        let stateDir = f.dir.appendingPathComponent("state")
        try FileManager.default.createDirectory(at: stateDir, withIntermediateDirectories: true)
        let state = stateDir.appendingPathComponent("state.sqlite").path
        // File modes do not stop root, so as root the service runs as `nobody`.
        let asRoot = geteuid() == 0
        if asRoot { try FileManager.default.setAttributes([.ownerAccountID: 65534, .groupOwnerAccountID: 65534], ofItemAtPath: stateDir.path) }
        func start(_ name: String, _ extra: [String: String] = [:], http: String = "127.0.0.1:0") throws -> (Process, URL) {
            let log = f.dir.appendingPathComponent("\(name).log")
            let args = ["run", "--state", state, "--http", http]
            let environment = Self.serviceEnvironment(broker.bootstrap).merging(extra) { $1 }
            let p = asRoot
                ? try Harness.start("setpriv", ["--reuid=65534", "--regid=65534", "--clear-groups", Harness.binary] + args, log: log, environment: environment)
                : try Harness.start(Harness.binary, args, log: log, environment: environment)
            return (p, log)
        }
        func logText(_ log: URL) -> String { (try? String(contentsOf: log, encoding: .utf8)) ?? "" }
        func storedOffsets() throws -> String {
            try Harness.run("python3", ["-c", "import sqlite3; c = sqlite3.connect('file:\(state)?mode=ro', uri=True); "
                + "print(sorted(c.execute('SELECT topic, partition, next_offset FROM offsets').fetchall()))"]).1
        }
        func setMode(_ mode: Int) throws { try FileManager.default.setAttributes([.posixPermissions: mode], ofItemAtPath: state) }

        // 1. A first run writes some checkpoints, then dies.
        let (first, _) = try start("run-1")
        defer { if first.isRunning { kill(first.processIdentifier, SIGKILL); first.waitUntilExit() } }
        #expect(try Harness.waitUntil(timeout: 60) { try !Self.forecastValues(broker.bootstrap).isEmpty && storedOffsets().contains("(") })
        kill(first.processIdentifier, SIGKILL)
        first.waitUntilExit()
        let persisted = try storedOffsets()

        // 2. Read-only, exit policy: stops with the cause named; the offsets stay where they were.
        try setMode(0o444)
        let (exiting, exitLog) = try start("run-2", ["STREAMCAST_CHECKPOINT_ON_ERROR": "exit"])
        defer { if exiting.isRunning { exiting.terminate(); exiting.waitUntilExit() } }
        let stopped = Harness.waitUntil(timeout: 60) { !exiting.isRunning }
        #expect(stopped && exiting.terminationStatus != 0, "the service stops when the checkpoint cannot be written")
        #expect(logText(exitLog).contains("readonly database"), "the error names the cause: \(logText(exitLog).suffix(600))")
        #expect(try storedOffsets() == persisted)

        // 3. Read-only, retry policy: pauses and reports; recovers once the file is writable again.
        let http = "127.0.0.1:\(Int.random(in: 20000...40000))"
        let (retrying, retryLog) = try start("run-3", ["STREAMCAST_CHECKPOINT_ON_ERROR": "retry"], http: http)
        defer { if retrying.isRunning { kill(retrying.processIdentifier, SIGKILL); retrying.waitUntilExit() } }
        #expect(Harness.waitUntil(timeout: 60) { logText(retryLog).contains("checkpoint retry failed") })
        #expect(retrying.isRunning, "the retry policy keeps the service up")
        let metrics = try Harness.run("curl", ["-s", "http://\(http)/metrics"], timeout: 10).1
        #expect(metrics.contains("streamcast_checkpoint_failing 1"), "\(metrics.prefix(2000))")
        #expect(metrics.range(of: #"streamcast_checkpoint_failures_total [1-9]"#, options: .regularExpression) != nil)
        #expect(try storedOffsets() == persisted)
        try setMode(0o644)
        #expect(Harness.waitUntil(timeout: 60) { logText(retryLog).contains("consumption resumed") }, "\(logText(retryLog).suffix(800))")
        // The checkpoint that succeeds first may hold the offsets of the failure (the input was
        // paused); the ones after it advance as the resumed input is processed.
        let advanced = Harness.waitUntil(timeout: 30) { (try? storedOffsets()).map { $0 != persisted } ?? false }
        kill(retrying.processIdentifier, SIGKILL)
        retrying.waitUntilExit()

        // 4. A restart from what the recovered checkpoint wrote finishes exactly.
        let (last, _) = try start("run-4")
        defer { if last.isRunning { last.terminate(); last.waitUntilExit() } }
        #expect(try Harness.waitUntil(timeout: 120) { Set(try Self.forecastValues(broker.bootstrap)).count >= f.offline.count })
        #expect(Set(try Self.forecastValues(broker.bootstrap)) == Set(f.offline))
        // After the recovery the checkpoints advanced the offsets (unless the first run had read
        // everything before it was killed: then there was nothing left to advance).
        last.terminate()
        last.waitUntilExit()
        let final = try storedOffsets()
        #expect(advanced || persisted == final, "after the recovery the checkpoints advance the offsets")
    }
}
