import Foundation
import Testing

extension KafkaEndToEndTests {
    /// Another process locks the checkpoint database mid-stream: the service's next checkpoint
    /// cannot commit, it stops with a clear error instead of consuming past what it persisted, and
    /// a restart after the lock is gone resumes from the last checkpoint: the forecasts equal an
    /// undisturbed (offline) run's.
    @Test func lockedCheckpointDatabaseStopsCleanlyAndRestartResumes() throws {
        let (f, broker) = try Self.publishedFixture(seed: 37)
        let state = f.dir.appendingPathComponent("state.sqlite").path
        let log = f.dir.appendingPathComponent("run-1.log")
        let service = try Harness.start(Harness.binary, ["run", "--state", state, "--http", "127.0.0.1:0"], log: log,
                                        environment: Self.serviceEnvironment(broker.bootstrap))
        defer { if service.isRunning { service.terminate(); service.waitUntilExit() } }
        #expect(try Harness.waitUntil(timeout: 60) { try !Self.forecastValues(broker.bootstrap).isEmpty })
        // Hold an exclusive lock for 20 s (longer than the 5 s busy timeout).
        let script = "import sqlite3, time\n"
            + "c = sqlite3.connect('\(state)', timeout=30, isolation_level=None)\n"
            + "c.execute('BEGIN EXCLUSIVE'); print('locked', flush=True); time.sleep(20); c.execute('COMMIT')\n"
        let lockerLog = f.dir.appendingPathComponent("locker.log")
        let locker = try Harness.start("python3", ["-c", script], log: lockerLog)
        #expect(Harness.waitUntil(timeout: 30) { ((try? String(contentsOf: lockerLog, encoding: .utf8)) ?? "").contains("locked") })
        let stopped = Harness.waitUntil(timeout: 40) { !service.isRunning }
        #expect(stopped, "the service stops on a checkpoint it cannot write")
        if stopped { #expect(service.terminationStatus != 0) }
        let text = (try? String(contentsOf: log, encoding: .utf8)) ?? ""
        #expect(text.contains("database is locked") || text.contains("busy"), "the error names the cause: \(text.suffix(800))")
        locker.waitUntilExit()
        // Restart: resumes from the last checkpoint and finishes.
        let again = try Harness.start(Harness.binary, ["run", "--state", state, "--http", "127.0.0.1:0"], log: f.dir.appendingPathComponent("run-2.log"),
                                      environment: Self.serviceEnvironment(broker.bootstrap))
        defer { if again.isRunning { again.terminate(); again.waitUntilExit() } }
        #expect(try Harness.waitUntil(timeout: 120) { Set(try Self.forecastValues(broker.bootstrap)).count >= f.offline.count })
        #expect(Set(try Self.forecastValues(broker.bootstrap)) == Set(f.offline))
    }
}
