import Boosting
import Foundation
import NeuralNet
import Windows

/// A trained model: network config + weights + what serving needs (period, holiday calendar).
/// Stored as safetensors (8-byte little-endian header length, JSON header, little-endian f32
/// data), readable by Python's safetensors or numpy; the config lives in `__metadata__`.
public struct MQModel {
    public var network: MQNetwork
    public var period: Period
    public var holidays: Set<Int>
    public var id: String
    /// Whole-unit quantiles for count data (CountRounding.swift); nil: continuous.
    public var countRounding: CountRounding?
    /// Mix with the product's empirical quantiles (EmpiricalBlend.swift); nil: the network alone.
    public var empiricalBlend: EmpiricalBlend?
    /// The named events behind the network's per-event features (empty: none).
    public var events = EventCalendar([])
    /// Further networks of the same shape, trained with other seeds: the model serves the quantile
    /// average of `network` and these (`forecaster`). Empty: one network.
    public var members: [MQNetwork] = []
    /// Gradient-boosted trees mixed into the served quantiles (TreeMember.swift); nil: none.
    public var trees: TreeMember?

    public init(network: MQNetwork, period: Period, holidays: Set<Int>, id: String, countRounding: CountRounding? = nil,
                empiricalBlend: EmpiricalBlend? = nil) {
        self.network = network
        self.period = period
        self.holidays = holidays
        self.id = id
        self.countRounding = countRounding
        self.empiricalBlend = empiricalBlend
    }

    /// Closed periods a product's window must keep for this model: its context, or the blend's
    /// lookback if longer.
    public var historyNeeded: Int { max(network.config.context, empiricalBlend?.lookback ?? 0) }

    /// Every network of the model: the first, then the other members.
    public var networks: [MQNetwork] { [network] + members }

    /// Tensor names of network `i`: the first network's as they are (so single-network files read
    /// as before), the others' prefixed "memberI.".
    static func tensorName(_ name: String, network i: Int) -> String { i == 0 ? name : "member\(i).\(name)" }

    public func save(to path: String) throws {
        var header: [String: Any] = [:]
        var data = Data()
        for (i, net) in networks.enumerated() {
            for p in net.parameters {
                let start = data.count
                for v in p.value.data { withUnsafeBytes(of: v.bitPattern.littleEndian) { data.append(contentsOf: $0) } }
                header[Self.tensorName(p.name, network: i)] = ["dtype": "F32", "shape": [p.value.rows, p.value.cols], "data_offsets": [start, data.count]]
            }
        }
        for (j, booster) in (trees?.boosters ?? []).enumerated() {
            let start = data.count
            data.append(contentsOf: try booster.bytes())
            header["trees.q\(j)"] = ["dtype": "U8", "shape": [data.count - start], "data_offsets": [start, data.count]]
        }
        // Sorted keys: the same model is the same bytes (JSONEncoder's key order is not stable).
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        let config = String(decoding: try encoder.encode(network.config), as: UTF8.self)
        var meta = ["format": "streamcast-mq", "config": config, "period": period.rawValue,
                    "holidays": holidays.sorted().map(String.init).joined(separator: ","), "model_id": id]
        if let countRounding { meta["count_rounding"] = countRounding.encoded }
        if let empiricalBlend { meta["empirical_blend"] = empiricalBlend.encoded }
        if !events.names.isEmpty { meta["events"] = events.encoded }
        if !members.isEmpty { meta["networks"] = String(networks.count) }
        if let trees { meta["tree_mix"] = trees.encodedMix }
        header["__metadata__"] = meta
        var json = try JSONSerialization.data(withJSONObject: header, options: [.sortedKeys])
        while json.count % 8 != 0 { json.append(0x20) }
        var out = Data()
        withUnsafeBytes(of: UInt64(json.count).littleEndian) { out.append(contentsOf: $0) }
        out.append(json)
        out.append(data)
        try out.write(to: URL(fileURLWithPath: path))
    }

    public static func load(from path: String) throws -> MQModel {
        guard let bytes = FileManager.default.contents(atPath: path), bytes.count >= 8 else { throw ModelFileError("cannot read \(path)") }
        let n = Int(bytes.prefix(8).withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) }.littleEndian)
        guard 8 + n <= bytes.count, let header = try JSONSerialization.jsonObject(with: bytes.subdata(in: 8..<(8 + n))) as? [String: Any],
              let meta = header["__metadata__"] as? [String: String], meta["format"] == "streamcast-mq",
              let configText = meta["config"], let periodName = meta["period"], let period = Period(rawValue: periodName)
        else { throw ModelFileError("\(path) is not a StreamCast model file") }
        let config = try JSONDecoder().decode(MQConfig.self, from: Data(configText.utf8))
        guard let count = Int(meta["networks"] ?? "1"), count >= 1 else { throw ModelFileError("\(path): networks '\(meta["networks"] ?? "")' is not a count") }
        let body = bytes.subdata(in: (8 + n)..<bytes.count)
        let networks = try (0..<count).map { i in
            let network = MQNetwork(config, seed: 0)
            for p in network.parameters {
                let name = tensorName(p.name, network: i)
                guard let entry = header[name] as? [String: Any], let shape = entry["shape"] as? [Int],
                      let offsets = entry["data_offsets"] as? [Int], shape == [p.value.rows, p.value.cols],
                      offsets.count == 2, offsets[1] - offsets[0] == 4 * p.value.count, offsets[1] <= body.count
                else { throw ModelFileError("\(path): tensor \(name) is missing or has another shape than the config says") }
                body.withUnsafeBytes { raw in
                    for i in 0..<p.value.count {
                        p.value.data[i] = Float(bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: offsets[0] + 4 * i, as: UInt32.self)))
                    }
                }
            }
            return network
        }
        let network = networks[0]
        let holidays = Set((meta["holidays"] ?? "").split(separator: ",").compactMap { Int($0) })
        var rounding: CountRounding?
        if let text = meta["count_rounding"] {
            guard let r = CountRounding(encoded: text), r.thresholds.count == config.quantiles.count
            else { throw ModelFileError("\(path): count_rounding '\(text)' is not one threshold in (0, 1) or '-' per quantile") }
            rounding = r
        }
        var blend: EmpiricalBlend?
        if let text = meta["empirical_blend"] {
            guard let b = EmpiricalBlend(encoded: text), b.weights.count == config.quantiles.count
            else { throw ModelFileError("\(path): empirical_blend '\(text)' is not 'W:λ,…' with W > 0 and one λ in [0, 1] per quantile") }
            blend = b
        }
        var model = MQModel(network: network, period: period, holidays: holidays, id: meta["model_id"] ?? "mq", countRounding: rounding,
                            empiricalBlend: blend)
        model.members = Array(networks.dropFirst())
        if let text = meta["events"] {
            guard let events = EventCalendar(encoded: text) else { throw ModelFileError("\(path): events '\(text)' is not 'name:day,day;…'") }
            model.events = events
        }
        if let text = meta["tree_mix"] {
            guard let mix = TreeMember.decodeMix(text), mix.count == config.quantiles.count
            else { throw ModelFileError("\(path): tree_mix '\(text)' is not one μ in [0, 1] per quantile") }
            let boosters = try mix.indices.map { j in
                guard let entry = header["trees.q\(j)"] as? [String: Any], let offsets = entry["data_offsets"] as? [Int],
                      offsets.count == 2, offsets[0] <= offsets[1], offsets[1] <= body.count
                else { throw ModelFileError("\(path): tensor trees.q\(j) is missing") }
                do { return try Booster(bytes: [UInt8](body[offsets[0]..<offsets[1]])) } catch {
                    throw ModelFileError("\(path): tensor trees.q\(j) is not an XGBoost model (\(error))")
                }
            }
            model.trees = TreeMember(boosters: boosters, mix: mix)
        }
        guard config.eventFeatures == 0 || config.eventFeatures == model.events.featureCount else {
            throw ModelFileError("\(path): the network takes \(config.eventFeatures) event features but the file names \(model.events.names.count) events")
        }
        return model
    }
}

public struct ModelFileError: Error, CustomStringConvertible {
    public let description: String
    init(_ d: String) { description = d }
}

extension MQModel {
    /// Why a running service cannot switch from `current` to this model, or nil if it can. The
    /// per-product state (windows of `windowLength` periods, error memory of R entries of H errors)
    /// must keep its meaning, and the forecasts their shape.
    public func incompatibility(replacing current: MQModel, windowLength: Int, quantiles: [Double]) -> String? {
        let a = current.network.config, b = network.config
        if period != current.period { return "it is for \(period.rawValue)s, the service runs \(current.period.rawValue)s" }
        if b.horizons != a.horizons { return "it has \(b.horizons) horizons, the serving model \(a.horizons) (the error memory would change meaning)" }
        if b.memory != a.memory { return "its error memory holds \(b.memory) entries, the serving model's \(a.memory)" }
        // The stored entries must mean the same (what an entry keeps); inputs derived from them, like the age, may differ.
        let (was, now) = (ErrorMemory(config: a).layout, ErrorMemory(config: b).layout)
        if now != was { return "its error memory is \(now), the serving model's \(was) (the stored entries would be misread)" }
        if networks.count != current.networks.count {
            return "it averages \(networks.count) networks, the serving model \(current.networks.count) (each keeps its own error memory per product)"
        }
        if historyNeeded > windowLength { return "it needs \(historyNeeded) periods of history, the windows keep \(windowLength)" }
        if let q = quantiles.first(where: { q in !b.quantiles.contains { abs($0 - q) < 1e-9 } }) { return "it has no \(q) quantile" }
        return nil
    }

    /// A short digest of the weights (FNV-1a), so that retrained models get distinct ids.
    /// FNV-1a over the weights, then the count rounding and blend if any (they change what the model serves).
    public var weightsDigest: String {
        var h: UInt32 = 2_166_136_261
        for net in networks { for p in net.parameters { for v in p.value.data { h = (h ^ v.bitPattern) &* 16_777_619 } } }
        for b in (countRounding?.encoded ?? "").utf8 { h = (h ^ UInt32(b)) &* 16_777_619 }
        for b in (empiricalBlend?.encoded ?? "").utf8 { h = (h ^ UInt32(b)) &* 16_777_619 }
        for booster in trees?.boosters ?? [] { for b in (try? booster.bytes()) ?? [] { h = (h ^ UInt32(b)) &* 16_777_619 } }
        for b in (trees?.encodedMix ?? "").utf8 { h = (h ^ UInt32(b)) &* 16_777_619 }
        return String(h, radix: 16)
    }
}

extension MQModel {
    /// What serves this model: the network, or the quantile average of its networks (each with its
    /// own error memory per product), under the model's id.
    public func forecaster(useMemory: Bool = true) -> any Forecaster {
        let networks: any Forecaster = members.isEmpty ? MQForecaster(model: self, useMemory: useMemory)
                                                       : EnsembleForecaster(models: memberModels, useMemory: useMemory, id: id)
        guard let trees else { return networks }
        return TreeMixForecaster(inner: networks, model: self, trees: trees)
    }

    /// What serves several model files together (`A+B+C`): the quantile average of all their
    /// networks, each with its own error memory (their trees, if any, are not used); a single file
    /// serves as `forecaster` does.
    public static func forecaster(serving models: [MQModel], useMemory: Bool = true) -> any Forecaster {
        models.count == 1 ? models[0].forecaster(useMemory: useMemory)
                          : EnsembleForecaster(models: models.flatMap(\.memberModels), useMemory: useMemory)
    }

    /// One single-network model per network, each with the model's calendar, blend and rounding.
    public var memberModels: [MQModel] {
        networks.enumerated().map { i, net in
            var m = self
            m.network = net
            m.members = []
            m.id = i == 0 ? id : "\(id)#\(i + 1)"
            return m
        }
    }
}
