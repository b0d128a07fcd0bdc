import Foundation
import Testing

/// Bad configuration: one clear message naming the key and the fix, exit status 2, nothing started.
@Suite struct ConfigErrorTests {
    func run(config: String?, environment: [String: String] = [:], flags: [String] = []) throws -> (Int32, String) {
        let dir = Harness.temporaryDirectory()
        var args = ["run", "--state", dir.appendingPathComponent("s.sqlite").path, "--bootstrap", "127.0.0.1:1"] + flags
        if let config {
            let path = dir.appendingPathComponent("bad.toml")
            try config.write(to: path, atomically: true, encoding: .utf8)
            args += ["--config", path.path]
        }
        let p = Process()
        p.executableURL = URL(fileURLWithPath: Harness.binary)
        p.arguments = args
        let err = dir.appendingPathComponent("stderr")
        _ = FileManager.default.createFile(atPath: err.path, contents: nil)
        p.standardError = try FileHandle(forWritingTo: err)
        p.standardOutput = FileHandle.nullDevice
        var env = ProcessInfo.processInfo.environment
        for (k, v) in environment { env[k] = v }
        p.environment = env
        try p.run()
        let deadline = Date().addingTimeInterval(20)
        while p.isRunning && Date() < deadline { usleep(20_000) }
        if p.isRunning { p.terminate() }  // started: that is a failure of this test
        p.waitUntilExit()
        #expect(!FileManager.default.fileExists(atPath: dir.appendingPathComponent("s.sqlite").path), "nothing may start")
        return (p.terminationStatus, try String(contentsOf: err, encoding: .utf8))
    }

    @Test func invalidTOMLNamesTheLine() throws {
        let (status, err) = try run(config: "[windows]\nlength = = 3\n")
        #expect(status == 2)
        #expect(err.contains("not valid TOML at line 2"))
    }

    /// A key in the wrong section points to the section that has it; a policy key's bad value names
    /// what it takes.
    @Test func aKeyInTheWrongSectionAndABadPolicyValue() throws {
        let (status, err) = try run(config: "[checkpoint]\nrecalibration = \"product\"\n")
        #expect(status == 2 && err.contains("did you mean 'forecast.recalibration'?"), "\(err)")
        let (s2, e2) = try run(config: "[decisions.category.shoes]\nshortage = \"lost\"\n")
        #expect(s2 == 2 && e2.contains("decisions.category.shoes.shortage") && e2.contains("lost_sales or backorders"), "\(e2)")
    }

    /// Switching monitoring off in one layer and on again in a later one keeps the values the
    /// first layer set while it was off: the drift alerts equal those of a run with just those values.
    @Test func reEnablingKeepsTheValuesSetWhileOff() throws {
        let dir = Harness.temporaryDirectory()
        let log = dir.appendingPathComponent("log.jsonl").path
        #expect(try Harness.streamcast(["simulate", "--products", "30", "--periods", "50", "--seed", "4", "--out", log]).0 == 0)
        func drift(_ config: String, _ environment: [String: String]) throws -> String {
            let file = dir.appendingPathComponent("c\(config.hashValue).toml").path
            try config.write(toFile: file, atomically: true, encoding: .utf8)
            let out = dir.appendingPathComponent("f\(config.hashValue).jsonl").path
            #expect(try Harness.streamcast(["replay", log, "--offline", "--out", out, "--config", file], environment: environment).0 == 0)
            return try String(contentsOfFile: out + ".drift.jsonl", encoding: .utf8)
        }
        let reEnabled = try drift("[monitoring]\nenabled = false\nwindow = 7\n", ["STREAMCAST_MONITORING_ENABLED": "true"])
        let direct = try drift("[monitoring]\nwindow = 7\n", [:])
        let standard = try drift("[monitoring]\n", [:])
        #expect(reEnabled == direct && direct != standard)
    }

    @Test func unknownKeySuggestsTheRightOne() throws {
        let (status, err) = try run(config: "[windows]\nlenght = 30\n")
        #expect(status == 2)
        #expect(err.contains("'windows.lenght'") && err.contains("did you mean 'windows.length'"))
    }

    @Test func wrongTypeAndImpossibleValuesNameKeyAndExpectation() throws {
        let (s1, e1) = try run(config: "[forecast]\nhorizons = \"many\"\n")
        #expect(s1 == 2 && e1.contains("'forecast.horizons'") && e1.contains("expected an integer in 1...1000"))
        let (s2, e2) = try run(config: "[forecast]\nquantiles = [0.9, 0.1]\n")
        #expect(s2 == 2 && e2.contains("'forecast.quantiles'") && e2.contains("increasing"))
        let (s3, e3) = try run(config: "[forecast]\nmodel = \"prophet\"\n")
        #expect(s3 == 2 && e3.contains("'forecast.model'") && e3.contains("seasonal_naive"))
    }

    @Test func environmentAndFlagsAreCheckedToo() throws {
        let (s1, e1) = try run(config: nil, environment: ["STREAMCAST_WINDOWS_PERIOD": "fortnight"])
        #expect(s1 == 2 && e1.contains("'windows.period'") && e1.contains("STREAMCAST_WINDOWS_PERIOD"))
        let (s2, e2) = try run(config: nil, flags: ["--horizons", "0"])
        #expect(s2 == 2 && e2.contains("'forecast.horizons'") && e2.contains("command line"))
    }

    @Test func secretsAreNeverLogged() throws {
        // A bad SASL property value must be rejected without echoing the secret.
        let (status, err) = try run(config: "[kafka]\n\"sasl.password\" = \"hunter2-secret\"\n\"security.protocol\" = \"nonsense\"\n")
        #expect(status != 0)
        #expect(!err.contains("hunter2-secret"))
    }

    /// The cooperative (incremental) rebalance protocol is refused up front, with what to use.
    @Test func cooperativeRebalancingIsRefusedWithTheAlternative() throws {
        let (status, err) = try run(config: nil, environment: ["STREAMCAST_KAFKA_PARTITION_ASSIGNMENT_STRATEGY": "cooperative-sticky"])
        #expect(status == 2)
        #expect(err.contains("kafka.partition.assignment.strategy") && err.contains("range or roundrobin") && err.contains("service.instance"), "\(err)")
    }

    /// docs/operations.md's key table lists exactly the keys the service accepts (as its error for
    /// an unknown key lists them): a key added without its documentation, or documented and gone,
    /// fails here. A cell `section.a` / `b` documents `section.a` and `section.b`.
    @Test func theOperationsKeyTableMatchesTheKeysAccepted() throws {
        let (status, err) = try run(config: "[zzzz]\nqqqq = 1\n")
        #expect(status == 2)
        let listed = try #require(err.range(of: "known keys: ").map { err[$0.upperBound...] })
        let accepted = Set(listed.split(separator: "\n")[0].split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
            .filter { !$0.hasPrefix("kafka.") })
        let docs = try String(contentsOf: Harness.packageRoot.appendingPathComponent("docs/operations.md"), encoding: .utf8)
        var documented = Set<String>()
        for line in docs.split(separator: "\n") where line.hasPrefix("| `") {
            let cell = line.dropFirst(2).prefix { $0 != "|" }
            let parts = cell.split(separator: "/").map { $0.trimmingCharacters(in: .whitespaces).trimmingCharacters(in: CharacterSet(charactersIn: "`")) }
            guard let first = parts.first, let dot = first.firstIndex(of: "."), !first.hasPrefix("kafka.") else { continue }
            let section = first[..<dot]
            documented.insert(first)
            for part in parts.dropFirst() { documented.insert("\(section).\(part)") }
        }
        #expect(accepted.count > 30)
        #expect(accepted.subtracting(documented).isEmpty, "accepted but not in docs/operations.md: \(accepted.subtracting(documented).sorted())")
        #expect(documented.subtracting(accepted).isEmpty, "documented but not accepted: \(documented.subtracting(accepted).sorted())")
    }
}
