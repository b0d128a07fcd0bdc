import Foundation
import Testing

/// Every long-running command stops on SIGINT/SIGTERM within seconds, whatever state it is in, and
/// a service that cannot do its job says why and exits non-zero instead of running half-alive.
/// Real processes, a real broker, real SQLite files.
@Suite(.serialized) struct ServiceStopTests {
    /// Sends `signal` and waits up to `seconds` for the process to exit; true if it did.
    static func stops(_ process: Process, on signal: Int32, within seconds: Double = 15) -> Bool {
        kill(process.processIdentifier, signal)
        let deadline = Date().addingTimeInterval(seconds)
        while process.isRunning && Date() < deadline { usleep(50_000) }
        return !process.isRunning
    }

    static func text(_ log: URL) -> String { (try? String(contentsOf: log, encoding: .utf8)) ?? "" }

    /// A loopback socket bound to a free port: its descriptor and the port.
    static func boundSocket() throws -> (fd: Int32, port: Int) {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        try withUnsafeMutablePointer(to: &address) { pointer in
            try pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                guard bind(fd, $0, length) == 0, getsockname(fd, $0, &length) == 0 else { throw HarnessError("cannot bind a probe socket") }
            }
        }
        return (fd, Int(UInt16(bigEndian: address.sin_port)))
    }

    /// A port nothing listens on (bound, then released).
    static func closedPort() throws -> Int {
        let (fd, port) = try boundSocket()
        close(fd)
        return port
    }

    @Test(arguments: [SIGTERM, SIGINT])
    func runStopsWithTheBrokerDown(signal: Int32) throws {
        let dir = Harness.temporaryDirectory()
        let log = dir.appendingPathComponent("run.log")
        let service = try Harness.start(Harness.binary, ["run", "--state", dir.appendingPathComponent("s.sqlite").path, "--http", "127.0.0.1:0",
                                                         "--bootstrap", "127.0.0.1:\(try Self.closedPort())"], log: log)
        defer { if service.isRunning { kill(service.processIdentifier, SIGKILL); service.waitUntilExit() } }
        #expect(Harness.waitUntil(timeout: 20) { Self.text(log).contains("consuming") }, "\(Self.text(log).suffix(1000))")
        sleep(2)  // connection attempts failing
        #expect(Self.stops(service, on: signal), "still running: \(Self.text(log).suffix(1000))")
        #expect(!FileManager.default.fileExists(atPath: dir.appendingPathComponent("s.sqlite.pid").path), "the pid file is removed on a clean stop")
    }

    @Test func runStopsBeforeItsPartitionsAreAssigned() throws {
        let dir = Harness.temporaryDirectory()
        let broker = try Harness.Broker(dir: dir)
        let log = dir.appendingPathComponent("run.log")
        let service = try Harness.start(Harness.binary, ["run", "--state", dir.appendingPathComponent("s.sqlite").path, "--http", "127.0.0.1:0",
                                                         "--bootstrap", broker.bootstrap], log: log)
        defer { if service.isRunning { kill(service.processIdentifier, SIGKILL); service.waitUntilExit() } }
        #expect(Harness.waitUntil(timeout: 20) { Self.text(log).contains("consuming") })
        #expect(!Self.text(log).contains("partitions assigned"), "the group join takes seconds on the embedded broker")
        #expect(Self.stops(service, on: SIGTERM), "still running: \(Self.text(log).suffix(1000))")
        #expect(service.terminationStatus == 0)
    }

    @Test func runRefusesAnAddressItCannotBind() throws {
        let dir = Harness.temporaryDirectory()
        let (holder, port) = try Self.boundSocket()
        defer { close(holder) }
        #expect(listen(holder, 1) == 0)
        let taken = "127.0.0.1:\(port)"
        let log = dir.appendingPathComponent("run.log")
        let service = try Harness.start(Harness.binary, ["run", "--state", dir.appendingPathComponent("s.sqlite").path, "--http", taken,
                                                         "--bootstrap", "127.0.0.1:\(try Self.closedPort())"], log: log)
        defer { if service.isRunning { kill(service.processIdentifier, SIGKILL); service.waitUntilExit() } }
        #expect(Harness.waitUntil(timeout: 15) { !service.isRunning }, "still running with its HTTP port taken: \(Self.text(log).suffix(1000))")
        #expect(service.terminationStatus != 0)
        #expect(Self.text(log).contains("cannot serve HTTP on \(taken)"), "\(Self.text(log).suffix(1000))")
        #expect(!Self.text(log).contains("consuming"), "nothing is consumed by a service whose endpoint is down")
    }

    /// A checkpoint whose partition state does not decode: the service says which partition and
    /// file, exits non-zero, and leaves the file as it was (no crash, nothing overwritten).
    @Test func runStopsWhenAPartitionCannotBeRestored() throws {
        let f = try KafkaEndToEndTests.fixture(products: 20, periods: 30, seed: 3)
        let broker = try Harness.Broker(dir: f.dir)
        #expect(try Harness.streamcast(["replay", f.log.path, "--to-kafka", "--bootstrap", broker.bootstrap]).0 == 0)
        let state = f.dir.appendingPathComponent("state.sqlite").path
        let environment = KafkaEndToEndTests.serviceEnvironment(broker.bootstrap)
        let first = f.dir.appendingPathComponent("first.log")
        let service = try Harness.start(Harness.binary, ["run", "--state", state, "--http", "127.0.0.1:0"], log: first, environment: environment)
        defer { if service.isRunning { kill(service.processIdentifier, SIGKILL); service.waitUntilExit() } }
        #expect(Harness.waitUntil(timeout: 60) { Self.text(first).contains("partitions assigned") })
        sleep(3)
        #expect(Self.stops(service, on: SIGTERM))
        let (status, _) = try Harness.run("python3", ["-c", "import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); c.execute(\"update products set window = x'00ff' \"); c.commit(); print(c.total_changes)", state])
        #expect(status == 0)

        let second = f.dir.appendingPathComponent("second.log")
        let restarted = try Harness.start(Harness.binary, ["run", "--state", state, "--http", "127.0.0.1:0"], log: second, environment: environment)
        defer { if restarted.isRunning { kill(restarted.processIdentifier, SIGKILL); restarted.waitUntilExit() } }
        #expect(Harness.waitUntil(timeout: 60) { !restarted.isRunning }, "\(Self.text(second).suffix(1500))")
        #expect(restarted.terminationStatus != 0 && restarted.terminationReason == .exit, "a logged error and an exit, not a crash")
        #expect(Self.text(second).contains("cannot restore partition state"), "\(Self.text(second).suffix(1500))")
    }

    @Test func demoStopsOnCtrlCWithItsSummary() throws {
        let dir = Harness.temporaryDirectory()
        let log = dir.appendingPathComponent("demo.log")
        let demo = try Harness.start(Harness.binary, ["demo", "--port", "0", "--http", "127.0.0.1:0", "--state", dir.appendingPathComponent("d.sqlite").path], log: log)
        defer { if demo.isRunning { kill(demo.processIdentifier, SIGKILL); demo.waitUntilExit() } }
        #expect(Harness.waitUntil(timeout: 120) { Self.text(log).contains("Ctrl-C stops the demo") }, "\(Self.text(log).suffix(1500))")
        #expect(Self.text(log).contains("forecasting with mq-"), "the demo serves the neural model")
        #expect(Self.stops(demo, on: SIGINT), "still running: \(Self.text(log).suffix(1000))")
        #expect(demo.terminationStatus == 0)
        #expect(Self.text(log).contains("demo stopped:"))
    }

    @Test func brokerIgnoresHangupsAndStopsOnTerm() throws {
        let dir = Harness.temporaryDirectory()
        let broker = try Harness.Broker(dir: dir)
        kill(broker.process.processIdentifier, SIGHUP)
        usleep(500_000)
        #expect(broker.process.isRunning, "SIGHUP does not take the broker down")
        #expect(try Harness.run("kcat", ["-L", "-b", broker.bootstrap, "-t", "sales"], timeout: 20).0 == 0)
        #expect(Self.stops(broker.process, on: SIGTERM))
    }

    @Test func recordStopsOnTerm() throws {
        let dir = Harness.temporaryDirectory()
        let log = dir.appendingPathComponent("record.log")
        let record = try Harness.start(Harness.binary, ["record", "--out", dir.appendingPathComponent("r.jsonl").path,
                                                        "--bootstrap", "127.0.0.1:\(try Self.closedPort())"], log: log)
        defer { if record.isRunning { kill(record.processIdentifier, SIGKILL); record.waitUntilExit() } }
        sleep(2)
        #expect(Self.stops(record, on: SIGTERM), "still running: \(Self.text(log).suffix(1000))")
        #expect(Self.text(log).contains("recorded 0 messages"))
    }
}
