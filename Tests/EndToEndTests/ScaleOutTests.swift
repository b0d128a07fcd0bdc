import Foundation
import Testing

/// Several instances in one consumer group, over real processes and a real broker: partition state
/// moves with its partition through the changelog topic. Instances with separate state files
/// share the partitions while a log is being published; one is killed -9; two more join with EMPTY
/// state files; then the group scales down to one. The input topics are longer than the embedded
/// broker keeps, so re-reading the inputs from their beginning cannot be how anyone gets there: the
/// forecasts on the topic (duplicates allowed) equal the offline replay's exactly.
@Suite(.serialized) struct ScaleOutTests {
    static let partitions = 4

    /// One instance with its own state file (a fresh, empty one unless it ran before).
    static func instance(_ name: String, _ f: KafkaEndToEndTests.Fixture, _ bootstrap: String) throws -> Process {
        var env = KafkaEndToEndTests.serviceEnvironment(bootstrap).merging(f.environment) { $1 }
        env["STREAMCAST_TOPICS_PARTITIONS"] = "\(partitions)"
        // The default grace: a sparse input (prices) that is momentarily caught up keeps holding
        // its partition's clock while the log is still being published.
        env["STREAMCAST_WINDOWS_IDLE_GRACE_SECONDS"] = "30"
        env["STREAMCAST_SERVICE_HTTP"] = "127.0.0.1:0"
        let state = f.dir.appendingPathComponent("state-\(name).sqlite").path
        return try Harness.start(Harness.binary, ["run", "--state", state], log: f.dir.appendingPathComponent("run-\(name).log"), environment: env)
    }

    static func log(_ name: String, _ f: KafkaEndToEndTests.Fixture) -> String {
        (try? String(contentsOf: f.dir.appendingPathComponent("run-\(name).log"), encoding: .utf8)) ?? ""
    }

    /// Until the instance's log says it took partitions.
    static func waitAssigned(_ name: String, _ f: KafkaEndToEndTests.Fixture) -> Bool {
        Harness.waitForLog(f.dir.appendingPathComponent("run-\(name).log"), "partitions assigned", timeout: 60)
    }

    /// The first offset a topic partition still holds (kcat reads one message from the beginning).
    static func firstRetained(_ bootstrap: String, topic: String, partition: Int) throws -> Int {
        let (_, out) = try Harness.run("kcat", ["-C", "-b", bootstrap, "-t", topic, "-p", "\(partition)", "-o", "beginning", "-c", "1", "-q", "-f", "%o"], timeout: 30)
        return Int(out.trimmingCharacters(in: .whitespacesAndNewlines)) ?? -1
    }

    @Test func stateMovesWithItsPartitionsThroughKillJoinAndScaleDown() throws {
        // The fixture's offline replay runs with the default 4 partitions, as the instances do.
        let f = try KafkaEndToEndTests.fixture(products: 300, periods: 120, seed: 31, model: true)
        let expected = Set(f.offline)
        let broker = try Harness.Broker(dir: f.dir, partitions: Self.partitions)
        // Every forecast as it is published: the forecast topic is longer than the broker keeps too.
        let collected = f.dir.appendingPathComponent("forecasts.txt")
        let collector = try Harness.start("kcat", ["-C", "-b", broker.bootstrap, "-t", "forecasts", "-o", "beginning", "-u", "-q", "-f", "%s\n"], log: collected)
        defer {
            kill(collector.processIdentifier, SIGKILL)  // kcat can hang closing its consumer on SIGTERM
            collector.waitUntilExit()
        }
        func forecasts() -> [String] {
            ((try? String(contentsOf: collected, encoding: .utf8)) ?? "").split(separator: "\n").map(String.init)
        }

        var running: [String: Process] = [:]
        for name in ["a", "b"] { running[name] = try Self.instance(name, f, broker.bootstrap) }
        #expect(Self.waitAssigned("a", f) && Self.waitAssigned("b", f))
        // About 80 s of publishing: the instances keep up, the broker drops the inputs' oldest data.
        let publisher = try Harness.start(Harness.binary, ["replay", f.log.path, "--to-kafka", "--bootstrap", broker.bootstrap, "--speed", "130000"],
                                          log: f.dir.appendingPathComponent("publish.log"), environment: ["STREAMCAST_TOPICS_PARTITIONS": "\(Self.partitions)"])

        sleep(15)
        kill(running["a"]!.processIdentifier, SIGKILL)
        running["a"]!.waitUntilExit()
        running["a"] = nil
        sleep(5)
        running["c"] = try Self.instance("c", f, broker.bootstrap)
        #expect(Self.waitAssigned("c", f))
        sleep(8)
        running["d"] = try Self.instance("d", f, broker.bootstrap)
        #expect(Self.waitAssigned("d", f))
        sleep(8)
        // Scale down to one instance: b and c leave cleanly, d takes every partition.
        for name in ["b", "c"] {
            running[name]!.terminate()
            running[name]!.waitUntilExit()
            #expect(running[name]!.terminationStatus == 0, "\(name) stops cleanly")
            running[name] = nil
        }
        publisher.waitUntilExit()
        #expect(publisher.terminationStatus == 0)
        let done = Harness.waitUntil(timeout: 180) { Set(forecasts()).count >= expected.count }
        running["d"]!.terminate()
        running["d"]!.waitUntilExit()
        #expect(done && running["d"]!.terminationStatus == 0)

        // The inputs no longer hold their beginning: nobody could have rebuilt state from them.
        let first = try (0..<Self.partitions).map { try Self.firstRetained(broker.bootstrap, topic: "page-views", partition: $0) }
        #expect(first.allSatisfy { $0 > 0 }, "page-views first retained offsets \(first)")
        // Instances that started with empty state files restored partitions from the changelog.
        for name in ["c", "d"] {
            #expect(Self.log(name, f).contains("source=changelog"), "\(name) restored from the changelog")
        }
        let values = Set(forecasts())
        #expect(values == expected, "\(expected.subtracting(values).count) offline forecasts missing, \(values.subtracting(expected).count) different")
    }

    /// Changelog partition p holds input partition p's state: a changelog with fewer partitions
    /// than the inputs is refused at start, naming the key and how to create the topic.
    @Test func aChangelogWithTooFewPartitionsIsRefused() throws {
        let dir = Harness.temporaryDirectory()
        let broker = try Harness.Broker(dir: dir, partitions: 4)
        let (status, out) = try Harness.run(Harness.binary, ["run", "--state", dir.appendingPathComponent("s.sqlite").path],
                                            environment: ["STREAMCAST_KAFKA_BOOTSTRAP_SERVERS": broker.bootstrap, "STREAMCAST_TOPICS_PARTITIONS": "8",
                                                          "STREAMCAST_SERVICE_HTTP": "127.0.0.1:0"], timeout: 60, stderr: true)
        #expect(status != 0)
        #expect(out.contains("topics.changelog") && out.contains("create it with 8 partitions") && out.contains("cleanup.policy=compact"), "\(out)")
    }
}
