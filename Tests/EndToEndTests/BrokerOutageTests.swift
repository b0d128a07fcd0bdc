import Foundation
import Testing

extension KafkaEndToEndTests {
    /// The broker goes away mid-stream (`streamcast broker` takes SIGUSR1/SIGUSR2 as outage drills)
    /// while the service is producing forecasts: it keeps running, resumes on its own when the
    /// broker is back, and the final forecasts and dead letters equal an undisturbed (offline) run.
    @Test func brokerOutageMidStreamLosesNothing() throws {
        let (f, broker) = try Self.publishedFixture(seed: 31)
        let log = f.dir.appendingPathComponent("run.log")
        let service = try Harness.start(Harness.binary, ["run", "--state", f.dir.appendingPathComponent("state.sqlite").path, "--http", "127.0.0.1:0"],
                                        log: log, environment: Self.serviceEnvironment(broker.bootstrap))
        defer { if service.isRunning { service.terminate(); service.waitUntilExit() } }
        #expect(try Harness.waitUntil(timeout: 60) { try !Self.forecastValues(broker.bootstrap).isEmpty })
        // Pull the broker while the service is busy, for 8 s.
        kill(broker.process.processIdentifier, SIGUSR1)
        sleep(8)
        #expect(service.isRunning, "the service survives the outage")
        kill(broker.process.processIdentifier, SIGUSR2)
        let done = try Harness.waitUntil(timeout: 180) { Set(try Self.forecastValues(broker.bootstrap)).count >= f.offline.count }
        #expect(done && service.isRunning)
        let values = Set(try Self.forecastValues(broker.bootstrap))
        #expect(values == Set(f.offline), "\(Set(f.offline).subtracting(values).count) offline forecasts missing, \(values.subtracting(f.offline).count) extra")
        #expect(try Harness.kcat(broker.bootstrap, topic: "streamcast-dlq").count == f.offlineDeadLetters)
        let text = (try? String(contentsOf: log, encoding: .utf8)) ?? ""
        #expect(text.contains("brokers are down") || text.contains("Connection refused"), "the outage was seen")
    }
}
