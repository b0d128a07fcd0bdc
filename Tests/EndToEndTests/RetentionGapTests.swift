import Foundation
import Testing

/// An input partition that no longer holds offsets the state has not read (the embedded broker
/// keeps only the newest few MB of a partition, as retention deletes old segments) is an error
/// naming the partition and the offsets gone, counted in a metric; the service goes on by
/// default and stops with `service.on_retention_gap = "stop"`.
@Suite(.serialized) struct RetentionGapTests {
    @Test func aLogLongerThanTheBrokerKeepsIsLoud() throws {
        let dir = Harness.temporaryDirectory()
        let log = dir.appendingPathComponent("log.jsonl").path
        #expect(try Harness.streamcast(["simulate", "--products", "300", "--periods", "60", "--seed", "3", "--out", log]).0 == 0)
        let broker = try Harness.Broker(dir: dir, partitions: 2)
        let two = ["STREAMCAST_TOPICS_PARTITIONS": "2"]
        #expect(try Harness.streamcast(["replay", log, "--to-kafka", "--bootstrap", broker.bootstrap], environment: two).0 == 0)
        let env = two.merging(["STREAMCAST_KAFKA_BOOTSTRAP_SERVERS": broker.bootstrap]) { $1 }

        // stop: a non-zero exit that says which partition lost how many offsets.
        let stopLog = dir.appendingPathComponent("stop.log")
        let stopping = try Harness.start(Harness.binary, ["run", "--state", dir.appendingPathComponent("a.sqlite").path, "--http", "127.0.0.1:0"],
                                         log: stopLog, environment: env.merging(["STREAMCAST_SERVICE_ON_RETENTION_GAP": "stop"]) { $1 })
        let stopped = Harness.waitUntil(timeout: 60) { !stopping.isRunning }
        if !stopped { stopping.terminate() }
        stopping.waitUntilExit()
        let out = try String(contentsOf: stopLog, encoding: .utf8)
        #expect(stopped && stopping.terminationStatus != 0)
        #expect(out.contains("retention gap on ") && out.contains("offsets gone"), "\(out.suffix(800))")

        // continue (the default): an error in the log, the metric, and the service keeps serving.
        let http = "127.0.0.1:\(Int.random(in: 20000...40000))"
        let runLog = dir.appendingPathComponent("run.log")
        let service = try Harness.start(Harness.binary, ["run", "--state", dir.appendingPathComponent("b.sqlite").path, "--http", http],
                                        log: runLog, environment: env)
        var metrics = ""
        let counted = Harness.waitUntil(timeout: 60) {
            metrics = (try? Harness.run("curl", ["-s", "http://\(http)/metrics"], timeout: 5).1) ?? ""
            return metrics.contains("streamcast_retention_gap_offsets_total") && metrics.contains("streamcast_forecasts_total")
        }
        service.terminate()
        service.waitUntilExit()
        #expect(counted, "\(metrics.prefix(800))")
        #expect(service.terminationStatus == 0)
        let text = try String(contentsOf: runLog, encoding: .utf8)
        #expect(text.contains("retention gap") && text.contains("offsets_gone=") && text.contains("policy=continue"))
    }
}
