import Foundation
import Testing

/// Runs the real `streamcast` binary and outside tools (kcat, python) as processes.
enum Harness {
    /// The streamcast executable built beside the test bundle.
    static var binary: String {
        let dir = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        for candidate in [dir, dir.deletingLastPathComponent()] {
            let path = candidate.appendingPathComponent("streamcast").path
            if FileManager.default.isExecutableFile(atPath: path) { return path }
        }
        return URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent(".build/debug/streamcast").path
    }

    static let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// One parent for every test directory of this test process, removed when the process exits
    /// (STREAMCAST_KEEP_TEST_DIRS=1 keeps it, e.g. to read a failed test's logs).
    static let runDirectory: URL = {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("streamcast-e2e-\(getpid())-\(UUID().uuidString.prefix(8))")
        try! FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        if getenv("STREAMCAST_KEEP_TEST_DIRS") == nil {
            atexit { try? FileManager.default.removeItem(at: Harness.runDirectory) }
        }
        return dir
    }()

    static func temporaryDirectory() -> URL {
        let dir = runDirectory.appendingPathComponent(UUID().uuidString)
        try! FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        return dir
    }

    /// Services in tests release an input that has caught up after 1 s, not the default 30 s, so a
    /// log published in full closes its last periods at once (LiveInputTests run the default).
    static let testEnvironment = ["STREAMCAST_WINDOWS_IDLE_GRACE_SECONDS": "1"]

    /// A process in the package root with this environment added (over `testEnvironment`) and
    /// stdin closed; `executable` without a slash is looked up on PATH.
    static func process(_ executable: String, _ args: [String], stdout: FileHandle, stderr: FileHandle,
                        environment: [String: String]) -> Process {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: executable.hasPrefix("/") ? executable : "/usr/bin/env")
        p.arguments = executable.hasPrefix("/") ? args : [executable] + args
        p.standardOutput = stdout
        p.standardError = stderr
        p.standardInput = FileHandle.nullDevice
        // The harness's own switch is not a configuration key of the processes it starts.
        var inherited = ProcessInfo.processInfo.environment
        inherited["STREAMCAST_KEEP_TEST_DIRS"] = nil
        p.environment = inherited.merging(testEnvironment) { $1 }.merging(environment) { $1 }
        p.currentDirectoryURL = packageRoot
        return p
    }

    /// Starts a process with stdout/stderr to a log file.
    static func start(_ executable: String, _ args: [String], log: URL, environment: [String: String] = [:]) throws -> Process {
        try requireProgram(executable)
        _ = FileManager.default.createFile(atPath: log.path, contents: nil)
        let handle = try FileHandle(forWritingTo: log)
        let p = process(executable, args, stdout: handle, stderr: handle, environment: environment)
        try p.run()
        return p
    }

    /// Outside programs the tests use, and the Debian package (or pip package) that brings each;
    /// scripts/setup-and-demo.sh installs them all.
    static let outsidePrograms = ["kcat": "apt-get install kcat", "chromium": "apt-get install chromium",
                                  "python3": "apt-get install python3", "curl": "apt-get install curl"]

    /// Fails with the program's name and how to install it when `executable` is not on PATH.
    static func requireProgram(_ executable: String) throws {
        guard !executable.hasPrefix("/") else { return }
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        let found = path.split(separator: ":").contains { FileManager.default.isExecutableFile(atPath: "\($0)/\(executable)") }
        if !found {
            throw HarnessError("this test needs `\(executable)`, which is not on PATH (\(outsidePrograms[executable] ?? "install it"); scripts/setup-and-demo.sh installs every test dependency)")
        }
    }

    /// Runs to completion; returns (status, stdout).
    @discardableResult
    /// `stderr`: its output is read too (into the same text).
    static func run(_ executable: String, _ args: [String], environment: [String: String] = [:], timeout: Double = 300,
                    stderr: Bool = false) throws -> (Int32, String) {
        try requireProgram(executable)
        // A file, not a pipe: large outputs cannot block the child.
        let outFile = FileManager.default.temporaryDirectory.appendingPathComponent("out-\(UUID().uuidString)")
        _ = FileManager.default.createFile(atPath: outFile.path, contents: nil)
        defer { try? FileManager.default.removeItem(at: outFile) }
        let handle = try FileHandle(forWritingTo: outFile)
        let p = process(executable, args, stdout: handle, stderr: stderr ? handle : FileHandle.nullDevice, environment: environment)
        try p.run()
        let deadline = Date().addingTimeInterval(timeout)
        while p.isRunning && Date() < deadline { usleep(20_000) }
        if p.isRunning { p.terminate() }
        p.waitUntilExit()
        try handle.close()
        return (p.terminationStatus, String(decoding: try Data(contentsOf: outFile), as: UTF8.self))
    }

    static func streamcast(_ args: [String], environment: [String: String] = [:]) throws -> (Int32, String) {
        try run(binary, args, environment: environment)
    }

    /// An embedded broker process on a free port.
    final class Broker {
        let process: Process
        let bootstrap: String

        init(dir: URL, partitions: Int = 4, environment: [String: String] = [:]) throws {
            let log = dir.appendingPathComponent("broker.log")
            process = try Harness.start(Harness.binary, ["broker", "--port", "0", "--partitions", "\(partitions)"], log: log,
                                        environment: environment)
            let deadline = Date().addingTimeInterval(20)
            while Date() < deadline {
                let text = (try? String(contentsOf: log, encoding: .utf8)) ?? ""
                if let range = text.range(of: "broker listening on ") {
                    let rest = text[range.upperBound...]
                    bootstrap = String(rest.prefix { $0 != " " && $0 != "\n" })
                    return
                }
                usleep(50_000)
            }
            process.terminate()
            throw HarnessError("broker did not start: \((try? String(contentsOf: log, encoding: .utf8)) ?? "")")
        }

        deinit {
            process.terminate()
            process.waitUntilExit()
        }
    }

    /// All messages of a topic as (key, value, headers) read by kcat.
    static func kcat(_ bootstrap: String, topic: String) throws -> [(key: String, value: String, headers: String)] {
        let (status, out) = try run("kcat", ["-C", "-b", bootstrap, "-t", topic, "-e", "-q", "-f", "%k\t%h\t%s\n"], timeout: 60)
        guard status == 0 else { throw HarnessError("kcat failed with status \(status)") }
        return out.split(separator: "\n", omittingEmptySubsequences: true).map { line in
            let parts = line.split(separator: "\t", maxSplits: 2, omittingEmptySubsequences: false).map(String.init)
            return (parts[0], parts.count > 2 ? parts[2] : "", parts.count > 1 ? parts[1] : "")
        }
    }

    /// Until a process's log holds `text` at least `times` times (false after the timeout).
    static func waitForLog(_ log: URL, _ text: String, times: Int = 1, timeout: Double) -> Bool {
        waitUntil(timeout: timeout) { ((try? String(contentsOf: log, encoding: .utf8)) ?? "").components(separatedBy: text).count - 1 >= times }
    }

    /// Polls `condition` until it is true or the timeout passes.
    static func waitUntil(timeout: Double, _ condition: () throws -> Bool) rethrows -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if try condition() { return true }
            usleep(500_000)
        }
        return false
    }
}

struct HarnessError: Error, CustomStringConvertible {
    let description: String
    init(_ d: String) { description = d }
}
