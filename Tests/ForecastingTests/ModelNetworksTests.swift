import Foundation
@testable import Forecasting
import NeuralNet
import Testing
import Windows

/// A model of several networks (train --networks N): one file, read back whole; it serves the
/// quantile average of its networks under its own id; a running service does not switch between
/// models of different network counts; a one-network file is what it always was.
@Suite struct ModelNetworksTests {
    /// As the streamcast process does at its start (BLAS.useOneThread says why).
    init() { BLAS.useOneThread() }

    static func model(networks: Int) -> MQModel {
        var config = MQConfig()
        config.context = 8
        config.horizons = 3
        var m = MQModel(network: MQNetwork(config, seed: 1), period: .day, holidays: [], id: "m\(networks)")
        m.members = (1..<networks).map { MQNetwork(config, seed: UInt64(1 + $0)) }
        return m
    }

    static func window() -> ProductWindow { ForecastingTests.window([1, 2, 3, 4, 1, 2, 3, 4, 1, 2, 3, 4]) }

    @Test func savedAndLoadedWhole() throws {
        let m = Self.model(networks: 3)
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("n3-\(UUID().uuidString).safetensors").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        try m.save(to: path)
        let back = try MQModel.load(from: path)
        #expect(back.networks.count == 3)
        for (a, b) in zip(m.networks, back.networks) {
            #expect(zip(a.parameters, b.parameters).allSatisfy { $0.value.data == $1.value.data })
        }
        #expect(back.weightsDigest == m.weightsDigest)
        #expect(Self.model(networks: 1).weightsDigest != m.weightsDigest, "every network is in the digest")
    }

    @Test func servesTheAverageOfItsNetworks() {
        let m = Self.model(networks: 3)
        let f = m.forecaster()
        #expect(f.id == "m3", "forecasts carry the model's id")
        var state: [UInt8] = []
        let got = f.forecast(Self.window(), horizons: 3, quantiles: [0.1, 0.5, 0.9], state: &state)
        var sum = [[Float]](repeating: [0, 0, 0], count: 3)
        for member in m.memberModels {
            var s: [UInt8] = []
            let rows = MQForecaster(model: member).forecast(Self.window(), horizons: 3, quantiles: [0.1, 0.5, 0.9], state: &s)
            for k in 0..<3 { for j in 0..<3 { sum[k][j] += rows[k][j] / 3 } }
        }
        for k in 0..<3 { for j in 0..<3 { #expect(abs(got[k][j] - sum[k][j]) <= 1e-5 * max(1, abs(sum[k][j]))) } }
        #expect(Self.model(networks: 1).forecaster() is MQForecaster, "one network: served as it always was")
    }

    @Test func noHotSwitchBetweenNetworkCounts() {
        let one = Self.model(networks: 1), three = Self.model(networks: 3)
        #expect(three.incompatibility(replacing: one, windowLength: 16, quantiles: [0.5])?.contains("averages 3 networks") == true)
        #expect(three.incompatibility(replacing: Self.model(networks: 3), windowLength: 16, quantiles: [0.5]) == nil)
    }
}

/// A model file written before per-event inputs and several networks (no `eventFeatures` in its
/// config, no `networks` or `events` in its metadata) loads as one network and serves as before.
@Suite struct OlderModelFileTests {
    /// As the streamcast process does at its start (BLAS.useOneThread says why).
    init() { BLAS.useOneThread() }

    @Test func loadsAndServes() throws {
        let m = ModelNetworksTests.model(networks: 1)
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("old-\(UUID().uuidString).safetensors").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        try m.save(to: path)
        // Rewrite the header as the earlier format had it.
        var bytes = try Data(contentsOf: URL(fileURLWithPath: path))
        let n = Int(bytes.prefix(8).withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) }.littleEndian)
        var header = try #require(try JSONSerialization.jsonObject(with: bytes.subdata(in: 8..<(8 + n))) as? [String: Any])
        var meta = try #require(header["__metadata__"] as? [String: String])
        var config = try #require(try JSONSerialization.jsonObject(with: Data(meta["config"]!.utf8)) as? [String: Any])
        #expect(config.removeValue(forKey: "eventFeatures") != nil)
        meta["config"] = String(decoding: try JSONSerialization.data(withJSONObject: config, options: [.sortedKeys]), as: UTF8.self)
        meta["networks"] = nil
        meta["events"] = nil
        header["__metadata__"] = meta
        var json = try JSONSerialization.data(withJSONObject: header, options: [.sortedKeys])
        while json.count % 8 != 0 { json.append(0x20) }
        let body = bytes.subdata(in: (8 + n)..<bytes.count)
        bytes = Data()
        withUnsafeBytes(of: UInt64(json.count).littleEndian) { bytes.append(contentsOf: $0) }
        bytes.append(json)
        bytes.append(body)
        try bytes.write(to: URL(fileURLWithPath: path))

        let old = try MQModel.load(from: path)
        #expect(old.networks.count == 1 && old.network.config.eventFeatures == 0 && old.events.names.isEmpty)
        var a: [UInt8] = [], b: [UInt8] = []
        let window = ModelNetworksTests.window()
        #expect(old.forecaster().forecast(window, horizons: 3, quantiles: [0.1, 0.5, 0.9], state: &a)
                == m.forecaster().forecast(window, horizons: 3, quantiles: [0.1, 0.5, 0.9], state: &b))
    }
}
