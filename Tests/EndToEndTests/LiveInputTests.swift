import Foundation
import Testing

/// Inputs that arrive while the service runs: an input that has caught up keeps holding its
/// partition's clock for `windows.idle_grace_seconds` (default 30 s), so a log published at full
/// speed into a running service, or a page-view feed 10 s behind sales, loses nothing to
/// lateness: the forecasts equal the offline replay's. Without the grace the lagging feed's events
/// are late, counted per input in `streamcast_late_events_total`.
@Suite(.serialized) struct LiveInputTests {
    /// A running service (the grace as given: nil = the default) on a fresh 8-partition broker.
    static func service(_ f: KafkaEndToEndTests.Fixture, grace: String?) throws -> (Harness.Broker, Process, String) {
        let broker = try Harness.Broker(dir: f.dir, partitions: 8)
        var env = KafkaEndToEndTests.serviceEnvironment(broker.bootstrap).merging(f.environment) { $1 }
        env["STREAMCAST_TOPICS_PARTITIONS"] = "8"
        env["STREAMCAST_WINDOWS_IDLE_GRACE_SECONDS"] = grace ?? "30"  // 30: the default, over the tests' 1 s
        let http = "127.0.0.1:\(Int.random(in: 20000...40000))"
        let state = f.dir.appendingPathComponent("state-\(UUID().uuidString.prefix(6)).sqlite").path
        let log = f.dir.appendingPathComponent("run-\(grace ?? "default").log")
        let service = try Harness.start(Harness.binary, ["run", "--state", state, "--http", http], log: log, environment: env)
        // Partitions assigned (the group join takes ~3 s on the embedded broker).
        #expect(Harness.waitForLog(log, "partitions assigned", timeout: 60), "the service took its partitions")
        return (broker, service, http)
    }

    static func publish(_ lines: [String], _ f: KafkaEndToEndTests.Fixture, _ bootstrap: String) throws {
        let file = f.dir.appendingPathComponent("part-\(UUID().uuidString.prefix(6)).jsonl")
        try (lines.joined(separator: "\n") + "\n").write(to: file, atomically: true, encoding: .utf8)
        let (status, out) = try Harness.streamcast(["replay", file.path, "--to-kafka", "--bootstrap", bootstrap],
                                                   environment: ["STREAMCAST_TOPICS_PARTITIONS": "8"])
        #expect(status == 0, "\(out)")
    }

    static func offline(_ f: KafkaEndToEndTests.Fixture) throws -> [String] {
        let out = f.dir.appendingPathComponent("offline8.jsonl")
        let (st, _) = try Harness.streamcast(["replay", f.log.path, "--offline", "--out", out.path],
                                             environment: f.environment.merging(["STREAMCAST_TOPICS_PARTITIONS": "8"]) { $1 })
        #expect(st == 0)
        return try String(contentsOf: out, encoding: .utf8).split(separator: "\n").map(String.init).sorted()
    }

    @Test func aLogPublishedIntoARunningServiceGivesTheOfflineForecasts() throws {
        let f = try KafkaEndToEndTests.fixture(products: 150, periods: 50, seed: 23)
        let expected = try Self.offline(f)
        let (broker, service, _) = try Self.service(f, grace: nil)
        try Self.publish(try String(contentsOf: f.log, encoding: .utf8).split(separator: "\n").map(String.init), f, broker.bootstrap)
        let done = try Harness.waitUntil(timeout: 120) { try KafkaEndToEndTests.forecastValues(broker.bootstrap).count >= expected.count }
        service.terminate()
        service.waitUntilExit()
        #expect(done && service.terminationStatus == 0)
        let values = try KafkaEndToEndTests.forecastValues(broker.bootstrap).sorted()
        let same = values == expected
        #expect(same, "\(Set(expected).subtracting(values).count) offline forecasts missing or different")
        #expect(try Harness.kcat(broker.bootstrap, topic: "streamcast-dlq").count == f.offlineDeadLetters, "no event dead-lettered as late")
    }

    @Test func aPageViewFeedTenSecondsBehindLosesNothing() throws {
        // A model, not the baseline: its forecasts read the page views, so lost views would show.
        let f = try KafkaEndToEndTests.fixture(products: 60, periods: 40, seed: 29, model: true)
        let expected = try Self.offline(f)
        let lines = try String(contentsOf: f.log, encoding: .utf8).split(separator: "\n").map(String.init)
        let isView = { (line: String) in line.contains(#""type":"page_view""#) }
        let views = lines.filter(isView), rest = lines.filter { !isView($0) }
        let firstViews = Array(views.prefix(views.count / 2)), laterViews = Array(views.dropFirst(views.count / 2))
        for grace in ["0", nil] {
            let (broker, service, http) = try Self.service(f, grace: grace)
            try Self.publish(rest + firstViews, f, broker.bootstrap)
            sleep(10)
            try Self.publish(laterViews, f, broker.bootstrap)
            let settled = try Harness.waitUntil(timeout: grace == "0" ? 20 : 90) { try KafkaEndToEndTests.forecastValues(broker.bootstrap).count >= expected.count }
            let (_, metrics) = try Harness.run("curl", ["-s", "http://\(http)/metrics"], timeout: 10)
            service.terminate()
            service.waitUntilExit()
            let values = try KafkaEndToEndTests.forecastValues(broker.bootstrap).sorted()
            let same = values == expected, differing = Set(expected).subtracting(values).count
            if grace == "0" {
                // The feed caught up and let go of the clock: its later half is late.
                #expect(metrics.contains(#"streamcast_late_events_total{input="page-views"}"#), "\(metrics.prefix(600))")
                #expect(!same, "the forecasts read the late half's views (\(differing) differ)")
            } else {
                #expect(settled && same, "\(differing) offline forecasts missing or different")
                // (The log's few very late sales are late offline too.)
                #expect(!metrics.contains(#"streamcast_late_events_total{input="page-views"}"#), "no page view late with the default grace")
            }
        }
    }
}
