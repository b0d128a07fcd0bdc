import Foundation
import Testing

extension KafkaEndToEndTests {
    /// Hot reload while the service consumes: an incompatible model written over the model file is
    /// refused (logged, the old model keeps serving); a compatible one taken on `streamcast reload` (SIGHUP to the pid in the checkpoint's pid file) switches the
    /// `model` field of new forecasts; the process never stops and no product's state is lost
    /// (every forecast the offline run makes is made, under one model or the other).
    @Test func hotReloadSwitchesModelsAndRefusesIncompatibleOnes() throws {
        let f = try Self.fixture(products: 30, periods: 60, seed: 7, model: true)
        let modelFile = try #require(f.environment["STREAMCAST_FORECAST_MODEL_FILE"])
        let clean = f.dir.appendingPathComponent("clean.jsonl").path
        let other = f.dir.appendingPathComponent("other.safetensors").path
        let wrongShape = f.dir.appendingPathComponent("wrong.safetensors").path
        try Self.train(clean, out: other, seed: 2)
        try Self.train(clean, out: wrongShape, seed: 3, horizons: 7)

        // The log in two halves: the second is published only after the switch.
        let lines = try String(contentsOf: f.log, encoding: .utf8).split(separator: "\n")
        let first = f.dir.appendingPathComponent("first.jsonl"), second = f.dir.appendingPathComponent("second.jsonl")
        try (lines[..<(lines.count / 2)].joined(separator: "\n") + "\n").write(to: first, atomically: true, encoding: .utf8)
        try (lines[(lines.count / 2)...].joined(separator: "\n") + "\n").write(to: second, atomically: true, encoding: .utf8)

        let broker = try Harness.Broker(dir: f.dir)
        #expect(try Harness.streamcast(["replay", first.path, "--to-kafka", "--bootstrap", broker.bootstrap]).0 == 0)
        let log = f.dir.appendingPathComponent("run.log")
        var environment = Self.serviceEnvironment(broker.bootstrap).merging(f.environment) { $1 }
        environment["STREAMCAST_FORECAST_RELOAD_POLL_SECONDS"] = "0.5"
        let service = try Harness.start(Harness.binary, ["run", "--state", f.dir.appendingPathComponent("state.sqlite").path, "--http", "127.0.0.1:0"],
                                        log: log, environment: environment)
        defer { if service.isRunning { service.terminate(); service.waitUntilExit() } }
        let models = { try Self.forecastValues(broker.bootstrap).compactMap { Self.modelID(of: $0) } }
        #expect(try Harness.waitUntil(timeout: 60) { try !models().isEmpty })
        let original = try #require(try models().first)

        // Incompatible: 7 horizons against the serving model's 14. Written over the file (atomic
        // rename, as an operator's deploy would); the watcher notices.
        func replaceModel(with path: String) throws {
            let staging = modelFile + ".new"
            try? FileManager.default.removeItem(atPath: staging)
            try FileManager.default.copyItem(atPath: path, toPath: staging)
            #expect(rename(staging, modelFile) == 0)
        }
        let logText = { (try? String(contentsOf: log, encoding: .utf8)) ?? "" }
        try replaceModel(with: wrongShape)
        #expect(Harness.waitUntil(timeout: 20) { logText().contains("model reload refused") }, "\(logText().suffix(2000))")
        #expect(logText().contains("it has 7 horizons, the serving model 14"))
        #expect(service.isRunning)

        // Compatible, on request: `streamcast reload` finds the service by its checkpoint's pid file.
        try replaceModel(with: other)
        let (reloadStatus, reloadOut) = try Harness.streamcast(["reload", "--state", f.dir.appendingPathComponent("state.sqlite").path])
        #expect(reloadStatus == 0 && reloadOut.contains("pid \(service.processIdentifier)"), "reload: \(reloadOut)")
        #expect(Harness.waitUntil(timeout: 20) { logText().contains("model reload: now serving") }, "\(logText().suffix(2000))")
        #expect(try Harness.streamcast(["replay", second.path, "--to-kafka", "--bootstrap", broker.bootstrap]).0 == 0)
        #expect(try Harness.waitUntil(timeout: 120) { Set(try Self.forecastKeys(broker.bootstrap)).count >= f.offline.count })
        #expect(service.isRunning, "consumption never stopped")

        let seen = Set(try models())
        #expect(seen.count == 2 && seen.contains(original), "models seen: \(seen)")
        #expect(!seen.contains { $0.contains("-h7-") }, "the incompatible model never served")
        let keys = Set(try Self.forecastKeys(broker.bootstrap))
        #expect(keys == Set(f.offline.compactMap(Self.forecastKey)), "every (product, fct) the offline run forecasts is forecast")

        // What a reload refuses, a restart can deploy: the 7-horizon model's error memory has another
        // shape, so the checkpointed memories are cleared (and logged) instead of misread.
        service.terminate()
        service.waitUntilExit()
        try replaceModel(with: wrongShape)
        let restartLog = f.dir.appendingPathComponent("restart.log")
        let restarted = try Harness.start(Harness.binary, ["run", "--state", f.dir.appendingPathComponent("state.sqlite").path, "--http", "127.0.0.1:0"],
                                          log: restartLog, environment: environment)
        defer { if restarted.isRunning { restarted.terminate(); restarted.waitUntilExit() } }
        let restartText = { (try? String(contentsOf: restartLog, encoding: .utf8)) ?? "" }
        #expect(Harness.waitUntil(timeout: 30) { restartText().contains("consuming") }, "\(restartText().suffix(2000))")
        #expect(restartText().contains("forecaster state reset") && restartText().contains("error-memory R=4 H=14 medians")
                && restartText().contains("error-memory R=4 H=7 medians"), "\(restartText().suffix(2000))")
        #expect(restarted.isRunning)
    }

    static func modelID(of value: String) -> String? {
        (try? JSONSerialization.jsonObject(with: Data(value.utf8)) as? [String: Any])?["model"] as? String
    }

    static func forecastKey(_ value: String) -> String? {
        guard let json = try? JSONSerialization.jsonObject(with: Data(value.utf8)) as? [String: Any],
              let product = json["product"] as? String, let fct = json["fct"] as? String else { return nil }
        return product + "@" + fct
    }

    static func forecastKeys(_ bootstrap: String) throws -> [String] {
        try forecastValues(bootstrap).compactMap(forecastKey)
    }
}
