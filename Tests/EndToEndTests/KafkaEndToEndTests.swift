import Checkpoint
import Events
import Foundation
import Testing
import Windows

/// End to end over real processes: `streamcast broker` (a Kafka-protocol endpoint on loopback),
/// `streamcast replay --to-kafka`, `streamcast run`, and outside clients (kcat, Python).
@Suite(.serialized) struct KafkaEndToEndTests {
    static let badLines = [
        "this is not json",
        #"{"type":"sale","product":"X1"}"#,
        #"{"type":"sale","product":"X2","ts":"2024-01-03T00:00:00Z","units":"many"}"#,
        "[1,2,3]",
    ]

    /// A simulated log with a few bad lines mixed in, and its offline forecasts.
    struct Fixture {
        let dir: URL
        let log: URL
        let offline: [String]
        let offlineDeadLetters: Int
        /// What the service needs besides the broker (the model file, if any).
        let environment: [String: String]
    }

    /// With `model`, a small network is trained on the clean log first and serves every run
    /// (`environment` then names it in STREAMCAST_FORECAST_MODEL_FILE).
    static func fixture(products: Int = 40, periods: Int = 60, seed: Int = 11, model: Bool = false,
                        environment: [String: String] = [:]) throws -> Fixture {
        var environment = environment
        let dir = Harness.temporaryDirectory()
        let clean = dir.appendingPathComponent("clean.jsonl")
        let (status, _) = try Harness.streamcast(["simulate", "--products", "\(products)", "--periods", "\(periods)", "--seed", "\(seed)", "--out", clean.path])
        #expect(status == 0)
        if model {
            let file = dir.appendingPathComponent("model.safetensors").path
            try Self.train(clean.path, out: file, seed: 1)
            environment["STREAMCAST_FORECAST_MODEL_FILE"] = file
        }
        var lines = try String(contentsOf: clean, encoding: .utf8).split(separator: "\n").map(String.init)
        for (i, bad) in badLines.enumerated() { lines.insert(bad, at: lines.count * (i + 1) / (badLines.count + 1)) }
        let log = dir.appendingPathComponent("log.jsonl")
        try (lines.joined(separator: "\n") + "\n").write(to: log, atomically: true, encoding: .utf8)
        let out = dir.appendingPathComponent("offline.jsonl")
        let (st, _) = try Harness.streamcast(["replay", log.path, "--offline", "--out", out.path], environment: environment)
        #expect(st == 0)
        let offline = try String(contentsOf: out, encoding: .utf8).split(separator: "\n").map(String.init)
        let dlq = try String(contentsOf: URL(fileURLWithPath: out.path + ".dlq.jsonl"), encoding: .utf8).split(separator: "\n").count
        return Fixture(dir: dir, log: log, offline: offline.sorted(), offlineDeadLetters: dlq, environment: environment)
    }

    /// A quick model: one short epoch is enough for the plumbing (accuracy is docs/accuracy.md's job).
    /// The promotion flag as an input, fixed: no choice to train for, and the scenarios below (which
    /// need drift alerts in every scope) stay the ones they were written for.
    static func train(_ log: String, out: String, seed: Int, horizons: Int = 14) throws {
        let (status, output) = try Harness.streamcast(["train", "--replay", log, "--out", out, "--period", "day", "--horizons", "\(horizons)",
                                                       "--context", "28", "--epochs", "1", "--examples", "1500", "--seed", "\(seed)", "--networks", "1",
                                                       "--no-promo-lift"])
        #expect(status == 0, "train: \(output)")
    }

    /// The reliability tests' start: a log big enough that the service is still busy when the fault
    /// comes, published in full up front (a split log would let the service close periods early
    /// at the end of the first part, which a replay does not do), on a fresh broker.
    static func publishedFixture(seed: Int) throws -> (Fixture, Harness.Broker) {
        let f = try fixture(products: 120, periods: 90, seed: seed)
        let broker = try Harness.Broker(dir: f.dir)
        #expect(try Harness.streamcast(["replay", f.log.path, "--to-kafka", "--bootstrap", broker.bootstrap]).0 == 0)
        return (f, broker)
    }

    /// Environment for a service that checkpoints often and rejoins its group quickly after a crash.
    static func serviceEnvironment(_ bootstrap: String) -> [String: String] {
        ["STREAMCAST_KAFKA_BOOTSTRAP_SERVERS": bootstrap, "STREAMCAST_KAFKA_SESSION_TIMEOUT_MS": "6000",
         "STREAMCAST_KAFKA_HEARTBEAT_INTERVAL_MS": "500", "STREAMCAST_CHECKPOINT_EVERY_EVENTS": "3000",
         "STREAMCAST_CHECKPOINT_EVERY_SECONDS": "0.5"]
    }

    static func forecastValues(_ bootstrap: String) throws -> [String] {
        try Harness.kcat(bootstrap, topic: "forecasts").map(\.value)
    }

    @Test func kafkaPathMatchesOfflineAndOutsideClientsReadTheContract() throws {
        let f = try Self.fixture()
        let broker = try Harness.Broker(dir: f.dir)
        let (ps, _) = try Harness.streamcast(["replay", f.log.path, "--to-kafka", "--bootstrap", broker.bootstrap])
        #expect(ps == 0)
        let state = f.dir.appendingPathComponent("state.sqlite").path
        let http = "127.0.0.1:\(Int.random(in: 20000...40000))"
        let service = try Harness.start(Harness.binary, ["run", "--state", state, "--http", http], log: f.dir.appendingPathComponent("run.log"),
                                        environment: Self.serviceEnvironment(broker.bootstrap))
        let done = try Harness.waitUntil(timeout: 120) { try Self.forecastValues(broker.bootstrap).count >= f.offline.count }
        // Prometheus metrics are served while it runs.
        let (curlStatus, metrics) = try Harness.run("curl", ["-s", "http://\(http)/metrics"], timeout: 10)
        #expect(curlStatus == 0 && metrics.contains("streamcast_forecasts_total \(f.offline.count)"), "\(metrics.prefix(400))")
        #expect(metrics.contains("streamcast_dead_letters_total{reason=\"malformed_json\"}"))
        #expect(metrics.contains("streamcast_coverage{quantile=\"0.9\"}") && metrics.contains("streamcast_refresh_duration"))
        // The drift dashboard's page and data endpoints answer while it runs.
        let (_, fleet) = try Harness.run("curl", ["-s", "http://\(http)/api/fleet"], timeout: 10)
        let view = try JSONSerialization.jsonObject(with: Data(fleet.utf8)) as? [String: Any]
        #expect((view?["windowCoverage"] as? [Double])?.count == 3 && (view?["cells"] as? Double ?? 0) > 100, "\(fleet.prefix(300))")
        // Open alerts name what, the value against the expected one, and since when.
        let (_, openJSON) = try Harness.run("curl", ["-s", "http://\(http)/api/alerts"], timeout: 10)
        let open = try #require(try JSONSerialization.jsonObject(with: Data(openJSON.utf8)) as? [[String: Any]], "\(openJSON.prefix(300))")
        #expect(open.allSatisfy { $0["metric"] is String && $0["value"] is Double && $0["expected"] is Double && $0["status"] as? String == "alert" })
        let (_, top) = try Harness.run("curl", ["-s", "http://\(http)/api/top?n=5"], timeout: 10)
        #expect((try JSONSerialization.jsonObject(with: Data(top.utf8)) as? [Any])?.count == 5)
        let first = try #require((try JSONSerialization.jsonObject(with: Data(top.utf8)) as? [[String: Any]])?.first?["product"] as? String)
        let (_, productJSON) = try Harness.run("curl", ["-s", "http://\(http)/api/product/\(first)"], timeout: 10)
        let product = try JSONSerialization.jsonObject(with: Data(productJSON.utf8)) as? [String: Any]
        #expect((product?["forecast"] as? [[Double]])?.count == 14 && ((product?["actuals"] as? [Double])?.count ?? 0) > 0, "\(productJSON.prefix(300))")
        // A price what-if for that product, from its live state: the plan's price and revenue come back.
        let (_, whatIfJSON) = try Harness.run("curl", ["-s", "http://\(http)/api/whatif?product=\(first)&price=7.5&price=30"], timeout: 10)
        let whatIf = try #require(try JSONSerialization.jsonObject(with: Data(whatIfJSON.utf8)) as? [String: Any], "\(whatIfJSON.prefix(300))")
        let planned = try #require(whatIf["planned"] as? [[String: Any]])
        #expect(planned.map { $0["price"] as? Double } == [7.5, 30])
        for p in planned {
            let units = try #require(p["expected_units"] as? Double), revenue = try #require(p["expected_revenue"] as? Double)
            #expect(units > 0 && abs(revenue - units * (p["price"] as! Double)) <= 1e-3 * revenue, "\(p)")
            #expect(((p["recommendation"] as? [String: Any])?["policy"] as? [String: Any])?["price"] as? Double == p["price"] as? Double)
        }
        // The same question offline, from the state at the end of the same log: the same answer.
        let (_, offlineWhatIf) = try Harness.streamcast(["whatif", "--replay", f.log.path, "--product", first, "--price", "7.5", "--price", "30"])
        #expect(offlineWhatIf.trimmingCharacters(in: .whitespacesAndNewlines) == whatIfJSON.trimmingCharacters(in: .whitespacesAndNewlines))
        let (_, curveJSON) = try Harness.run("curl", ["-s", "http://\(http)/api/price-curve?product=\(first)&steps=5"], timeout: 10)
        let curve = try JSONSerialization.jsonObject(with: Data(curveJSON.utf8)) as? [String: Any]
        #expect((curve?["points"] as? [Any])?.count == 5, "\(curveJSON.prefix(300))")
        let (_, unknown) = try Harness.run("curl", ["-s", "-o", "/dev/null", "-w", "%{http_code}", "http://\(http)/api/whatif?product=nope&price=1"], timeout: 10)
        #expect(unknown == "404")
        let (_, page) = try Harness.run("curl", ["-s", "http://\(http)/"], timeout: 10)
        #expect(page.contains("StreamCast — forecast drift") && page.contains("/api/fleet"))
        // In a real browser: the page's script fetched the endpoints and drew the tables.
        let (browserStatus, dom) = try Harness.run("chromium", ["--headless", "--no-sandbox", "--disable-gpu", "--virtual-time-budget=10000",
                                                                "--dump-dom", "http://\(http)/"], timeout: 90)
        #expect(browserStatus == 0 && dom.contains("scored forecasts") && dom.contains("<td>P90</td>") && dom.contains("bias (EWMA)")
                    && dom.contains("<circle") && dom.contains("<polygon") && dom.contains("order up to ")
                    && dom.contains("expected revenue (max") && dom.contains("units per day") && dom.contains(">2024-")
                    && dom.contains("<svg id=\"reliability\"") && dom.contains("nominal</text>"),
                "chromium DOM: \(dom.prefix(600))")
        let (monitorStatus, monitorOut) = try Harness.streamcast(["monitor", "--http", http, "--top", "3"])
        #expect(monitorStatus == 0 && monitorOut.contains("calibration: P10"), "\(monitorOut)")
        service.terminate()  // SIGTERM: graceful stop through swift-service-lifecycle
        service.waitUntilExit()
        #expect(done)
        #expect(service.terminationStatus == 0)

        // Read with kcat: key = product, value = the contract's message.
        let messages = try Harness.kcat(broker.bootstrap, topic: "forecasts")
        let kafkaValues = messages.map(\.value).sorted()
        #expect(kafkaValues.count == f.offline.count)
        #expect(kafkaValues == f.offline, "Kafka path and --offline must produce byte-identical forecast values; \(Set(f.offline).subtracting(kafkaValues).count) offline values missing")
        for m in messages.prefix(500) {
            let json = try #require(try JSONSerialization.jsonObject(with: Data(m.value.utf8)) as? [String: Any])
            #expect(json["schema"] as? Int == 1 && json["period"] as? String == "day" && json["product"] as? String == m.key)
            #expect(json["quantiles"] as? [Double] == [0.1, 0.5, 0.9])
            #expect(m.headers.contains("streamcast.issued_at_ms="))
            let targets = try #require(json["targets"] as? [[String: Any]])
            #expect(targets.count == 14)
            let fct = Timestamp.parse(try #require(json["fct"] as? String))!
            for (h, t) in targets.enumerated() {
                #expect(Timestamp.parse(t["start"] as! String)! == fct + Int64(h + 1) * 86_400_000)
                let q = t["q"] as! [Double]
                #expect(q.count == 3 && q == q.sorted() && q.allSatisfy { $0 >= 0 && $0.isFinite })
            }
        }
        // Order recommendations: one per forecast, byte-identical to the offline run's file.
        let offlineRecommendations = try String(contentsOf: URL(fileURLWithPath: f.dir.appendingPathComponent("offline.jsonl").path + ".recommendations.jsonl"), encoding: .utf8)
            .split(separator: "\n").map(String.init).sorted()
        let recommendations = try Harness.kcat(broker.bootstrap, topic: "recommendations")
        #expect(offlineRecommendations.count == f.offline.count)
        #expect(recommendations.map(\.value).sorted() == offlineRecommendations)
        #expect(recommendations.allSatisfy { $0.value.contains(#""product":"\#($0.key)""#) && $0.value.contains(#""order_up_to":"#) })

        // Every bad line is in the dead-letter topic with a reason and its source coordinates.
        let dead = try Harness.kcat(broker.bootstrap, topic: "streamcast-dlq")
        #expect(dead.count == f.offlineDeadLetters)
        for bad in Self.badLines {
            let letter = dead.first { $0.value == bad }
            #expect(letter != nil, "missing from DLQ: \(bad)")
            #expect(letter?.headers.contains("streamcast.reason=") == true && letter?.headers.contains("streamcast.source.offset=") == true)
        }
        #expect(dead.first { $0.value == "this is not json" }?.headers.contains("streamcast.reason=malformed_json") == true)

        // Drift alerts on the forecast-drift topic are a function of the log: the product ones, and
        // the fleet and category ones too (their periods are evaluated once every partition has
        // closed them, whatever order the partitions were read in), so they equal offline's.
        let offlineDrift = try String(contentsOf: URL(fileURLWithPath: f.dir.appendingPathComponent("offline.jsonl").path + ".drift.jsonl"), encoding: .utf8)
            .split(separator: "\n").map(String.init)
        let kafkaDrift = try Harness.kcat(broker.bootstrap, topic: "forecast-drift").map(\.value)
        #expect(offlineDrift.contains { $0.contains(#""scope":"product""#) } && offlineDrift.contains { !$0.contains(#""scope":"product""#) })
        #expect(kafkaDrift.sorted() == offlineDrift.sorted(), "\(kafkaDrift.count) vs \(offlineDrift.count) drift alerts")

        // A buyer's Python subscriber (docs/examples/subscriber.py) reads them too.
        let (hasClient, _) = try Harness.run("python3", ["-c", "import confluent_kafka"], timeout: 30)
        try #require(hasClient == 0, "the subscriber needs the Python package confluent-kafka (python3 -m pip install confluent-kafka; scripts/setup-and-demo.sh installs it)")
        let (pyStatus, pyOut) = try Harness.run("python3", ["docs/examples/subscriber.py", broker.bootstrap, "20"], timeout: 60)
        #expect(pyStatus == 0 && pyOut.split(separator: "\n").count == 20, "python subscriber: \(pyOut.prefix(300))")
    }

    /// One mixed topic instead of per-kind topics (`type` decides): same forecasts as offline.
    @Test func mixedTopicMode() throws {
        let mixed = ["STREAMCAST_TOPICS_MIXED": "events"]
        let f = try Self.fixture(products: 30, periods: 40, seed: 5, environment: mixed)
        let broker = try Harness.Broker(dir: f.dir, environment: mixed)
        let (ps, _) = try Harness.streamcast(["replay", f.log.path, "--to-kafka", "--bootstrap", broker.bootstrap], environment: mixed)
        #expect(ps == 0)
        let (count, _) = try Harness.run("kcat", ["-C", "-b", broker.bootstrap, "-t", "events", "-e", "-q", "-c", "5"], timeout: 30)
        #expect(count == 0)
        let state = f.dir.appendingPathComponent("state.sqlite").path
        let service = try Harness.start(Harness.binary, ["run", "--state", state, "--http", "127.0.0.1:0"], log: f.dir.appendingPathComponent("run.log"),
                                        environment: Self.serviceEnvironment(broker.bootstrap).merging(mixed) { $1 })
        let done = try Harness.waitUntil(timeout: 120) { try Self.forecastValues(broker.bootstrap).count >= f.offline.count }
        service.terminate()
        service.waitUntilExit()
        #expect(done)
        let values = try Self.forecastValues(broker.bootstrap).sorted()
        #expect(values.count == f.offline.count && values == f.offline)
        #expect(try Harness.kcat(broker.bootstrap, topic: "streamcast-dlq").count == f.offlineDeadLetters)
    }

    /// kill -9 the service (serving the neural model, whose error memory is part of the state) at
    /// random points of a Kafka replay and restart it each time: the final forecasts equal an
    /// uninterrupted run's byte for byte, and per-product totals in the checkpoint equal the
    /// log's (no event lost or counted twice).
    @Test func survivesKillNineAtRandomPoints() throws {
        // A low product threshold, so that this short log has product alerts to compare.
        let f = try Self.fixture(products: 50, periods: 70, seed: 23, model: true, environment: ["STREAMCAST_MONITORING_PH_LAMBDA": "4"])
        let broker = try Harness.Broker(dir: f.dir)
        let (ps, _) = try Harness.streamcast(["replay", f.log.path, "--to-kafka", "--bootstrap", broker.bootstrap])
        #expect(ps == 0)
        let state = f.dir.appendingPathComponent("state.sqlite").path
        var rng = SystemRandomNumberGenerator()
        var kills = 0
        for attempt in 0..<4 {
            let log = f.dir.appendingPathComponent("run-\(attempt).log")
            let service = try Harness.start(Harness.binary, ["run", "--state", state], log: log,
                                            environment: Self.serviceEnvironment(broker.bootstrap).merging(f.environment) { $1 })
            if attempt < 3 {
                // Let it join (~3 s on the embedded broker) and get somewhere, then pull the plug.
                let before = try Self.forecastValues(broker.bootstrap).count
                _ = try Harness.waitUntil(timeout: 60) { try Self.forecastValues(broker.bootstrap).count > before }
                usleep(UInt32.random(in: 0...1_500_000, using: &rng))
                kill(service.processIdentifier, SIGKILL)
                service.waitUntilExit()
                kills += 1
                continue
            }
            let done = try Harness.waitUntil(timeout: 120) { Set(try Self.forecastValues(broker.bootstrap)).count >= f.offline.count }
            // The last forecasts need not wait for the log's tail (events of the periods still
            // open); give the consumer a moment to read it, so the totals below see every event.
            Thread.sleep(forTimeInterval: 3)
            service.terminate()
            service.waitUntilExit()
            #expect(done)
        }
        #expect(kills == 3)
        #expect(f.offline.allSatisfy { $0.contains(#""model":"mq-full-day-h14-s1-"#) }, "the neural model serves")
        // Duplicates (re-emitted after a crash) are byte-identical; the set equals the offline run.
        let values = try Self.forecastValues(broker.bootstrap)
        #expect(values.count >= f.offline.count)
        let distinct = Set(values)
        #expect(distinct.count == f.offline.count && distinct == Set(f.offline), "\(Set(f.offline).subtracting(distinct).count) offline values missing")
        let recommendations = Set(try Harness.kcat(broker.bootstrap, topic: "recommendations").map(\.value))
        let offlineRecommendations = Set(try String(contentsOf: URL(fileURLWithPath: f.dir.appendingPathComponent("offline.jsonl").path + ".recommendations.jsonl"), encoding: .utf8)
            .split(separator: "\n").map(String.init))
        #expect(offlineRecommendations.count == f.offline.count && recommendations == offlineRecommendations)
        // The drift monitor's state is checkpointed (each product's with the product, the fleet's and
        // categories' with the instance), so its alerts after three kills equal the uninterrupted
        // offline run's in every scope (re-emitted ones are duplicates).
        let offlineDrift = Set(try String(contentsOf: URL(fileURLWithPath: f.dir.appendingPathComponent("offline.jsonl").path + ".drift.jsonl"), encoding: .utf8)
            .split(separator: "\n").map(String.init))
        let kafkaDrift = Set(try Harness.kcat(broker.bootstrap, topic: "forecast-drift").map(\.value))
        #expect(offlineDrift.contains { $0.contains(#""scope":"product""#) } && offlineDrift.contains { $0.contains(#""scope":"global""#) })
        #expect(kafkaDrift == offlineDrift, "\(kafkaDrift.subtracting(offlineDrift).count) alerts not offline, \(offlineDrift.subtracting(kafkaDrift).count) offline alerts missing")

        // Per-product totals in the checkpoint equal the log's accepted events (the lines the
        // offline run dead-lettered, e.g. late ones, are not counted).
        var rejected: [String: Int] = [:]
        let dlq = URL(fileURLWithPath: f.dir.appendingPathComponent("offline.jsonl").path + ".dlq.jsonl")
        for line in try String(contentsOf: dlq, encoding: .utf8).split(separator: "\n") {
            if let obj = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any], let v = obj["value"] as? String { rejected[v, default: 0] += 1 }
        }
        var expected: [String: (events: Int64, units: Double)] = [:]
        for line in try String(contentsOf: f.log, encoding: .utf8).split(separator: "\n") {
            if let n = rejected[String(line)], n > 0 { rejected[String(line)] = n - 1; continue }
            guard let obj = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
                  let product = obj["product"] as? String, obj["ts"] != nil, let type = obj["type"] as? String else { continue }
            if type == "sale" && !(obj["units"] is Double || obj["units"] == nil) { continue }
            var e = expected[product] ?? (0, 0)
            e.events += 1
            if type == "sale" { e.units += (obj["units"] as? Double) ?? 1 }
            expected[product] = e
        }
        let store = try CheckpointStore(path: state)
        var seen: [String: (events: Int64, units: Double)] = [:]
        for p in Int32(0)..<4 {
            for row in try store.products(partition: p) {
                let w = try WindowCodec.decode(row.window)
                seen[w.product] = (w.acceptedEvents, w.totalUnits)
            }
        }
        #expect(seen.count == expected.count)
        for (product, e) in expected {
            #expect(seen[product]?.events == e.events && seen[product]?.units == e.units, "\(product)")
        }
    }
}
