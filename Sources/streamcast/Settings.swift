import Foundation
import Decisions
import Forecasting
import Kafka
import Monitoring
import Pipeline
import TOMLKit
import Windows

/// Configuration: built-in defaults < Config/streamcast.toml (or --config) < STREAMCAST_* environment
/// variables < command-line flags. Every key is checked; an unknown key, a wrong type or an
/// impossible value is one clear error naming the key and the fix.
struct Settings {
    var pipeline = PipelineConfig()
    var kafka: [String: String] = [:]
    var statePath = "streamcast.sqlite"
    var group = "streamcast"
    /// Static group membership (`service.instance`); nil: dynamic.
    var instance: String?
    var http = "127.0.0.1:8080"
    var modelFile: String?
    /// Serving switches of the neural model: the error memory, online recalibration.
    var errorMemory = true
    var recalibration = RecalibrationMode.off
    var recalibrationStep: Float = 0.05
    var recalibrationScale = ConformalRecalibrator.StepScale.level
    var onCheckpointError = CheckpointFailure.exit
    var storageRetryMaxSeconds = 600.0
    var onRetentionGap = RetentionGapPolicy.continue
    /// Hot reload: how often the model file is checked for changes (0: only on SIGHUP).
    var reloadPollSeconds = 5.0
    /// Parts that can be switched off keep their values while off, so a later layer that turns
    /// them back on gets them as set (`sync` puts them into `pipeline`).
    var earlyRefreshOn = false
    var earlyRule = EarlyRefresh()
    var monitoringOn = true
    var monitoring = ForecastMonitor.Config()
    var decisionsOn = true
    var decisions = DecisionsConfig()

    /// Keys and what they take (section.key), from `table`.
    static let keys: [String: String] = Dictionary(uniqueKeysWithValues: table.map { ($0.name, $0.takes) })

    /// Loads the layers below flags. `configPath` nil = Config/streamcast.toml if it exists.
    static func load(configPath: String?, environment: [String: String] = ProcessInfo.processInfo.environment) throws -> Settings {
        var raw: [(key: String, value: String, origin: String)] = []
        let path = configPath ?? (FileManager.default.fileExists(atPath: "Config/streamcast.toml") ? "Config/streamcast.toml" : nil)
        if let path {
            guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
                throw ConfigError(key: "--config", message: "cannot read \(path)")
            }
            let table: TOMLTable
            do { table = try TOMLTable(string: text) } catch let e as TOMLParseError {
                throw ConfigError(key: path, message: "not valid TOML at line \(e.source.begin.line), column \(e.source.begin.column): \(e.description)")
            }
            for section in table.keys {
                guard let inner = table[section]?.table else {
                    throw ConfigError(key: section, message: "top-level keys must be inside a [section]; sections are kafka, topics, windows, forecast, monitoring, decisions, checkpoint, events, service")
                }
                for key in inner.keys {
                    if section == "decisions", ["category", "product"].contains(key), let scopes = inner[key]?.table {
                        // [decisions.category.NAME] / [decisions.product.ID] tables of policy keys.
                        for scope in scopes.keys {
                            guard let keys = scopes[scope]?.table else {
                                throw ConfigError(key: "decisions.\(key).\(scope)", message: "expected a table of policy keys ([decisions.\(key).\(scope)])")
                            }
                            for k in keys.keys {
                                let full = "decisions.\(key).\(scope).\(k)"
                                raw.append((full, try flatten(keys[k]!, key: full), path))
                            }
                        }
                        continue
                    }
                    raw.append(("\(section).\(key)", try flatten(inner[key]!, key: "\(section).\(key)"), path))
                }
            }
        }
        // STREAMCAST_WINDOWS_PERIOD=week → windows.period; STREAMCAST_KAFKA_SASL_USERNAME → kafka.sasl.username
        for (name, value) in environment.sorted(by: { $0.key < $1.key }) where name.hasPrefix("STREAMCAST_") {
            let parts = name.dropFirst("STREAMCAST_".count).lowercased().split(separator: "_", maxSplits: 1).map(String.init)
            guard parts.count == 2 else { continue }
            let key = parts[0] == "kafka" ? "kafka." + parts[1].replacingOccurrences(of: "_", with: ".") : "\(parts[0]).\(parts[1])"
            raw.append((key, value, "environment variable \(name)"))
        }
        var s = Settings()
        for item in raw { try s.apply(item.key, item.value, origin: item.origin) }
        return s
    }

    private static func flatten(_ v: TOMLValueConvertible, key: String) throws -> String {
        if let s = v.string { return s }
        if let i = v.int { return String(i) }
        if let d = v.double { return String(d) }
        if let b = v.bool { return String(b) }
        if let a = v.array { return try a.map { try flatten($0, key: key) }.joined(separator: ",") }
        throw ConfigError(key: key, message: "unsupported value type; expected \(keys[key] ?? "a string, number or boolean")")
    }

    /// Applies one key (from any layer).
    mutating func apply(_ key: String, _ value: String, origin: String = "flag") throws {
        defer { sync() }
        if key.hasPrefix("kafka.") {
            // The rebalance callback assigns and revokes whole assignments (the eager protocol);
            // an incremental one would be misread, so it is refused here, not at the first rebalance.
            if key == "kafka.partition.assignment.strategy" && value.contains("cooperative") {
                throw ConfigError(key: key, message: "'\(value)' (from \(origin)) is an incremental (cooperative) protocol, which StreamCast does not handle; use range or roundrobin (eager, librdkafka's default), and service.instance for restarts without a rebalance wait")
            }
            kafka[String(key.dropFirst(6))] = value
            return
        }
        if key.hasPrefix("decisions.category.") || key.hasPrefix("decisions.product.") {
            return try applyPolicy(key, value, origin: origin)
        }
        guard let entry = Self.byName[key] else {
            let close = Self.suggestion(for: key)
            throw ConfigError(key: key, message: "unknown key (from \(origin))" + (close.map { "; did you mean '\($0)'?" } ?? "; known keys: \(Self.keys.keys.sorted().joined(separator: ", ")), kafka.<librdkafka property>"))
        }
        guard entry.set(&self, value) != nil else {
            throw ConfigError(key: key, message: "expected \(entry.takes), got \"\(value)\" (from \(origin))")
        }
    }

    /// Puts what the keys set into the pipeline's configuration.
    private mutating func sync() {
        pipeline.monitoring = monitoringOn ? monitoring : nil
        pipeline.decisions = decisionsOn ? decisions : nil
        pipeline.earlyRefresh = earlyRefreshOn ? earlyRule : nil
        pipeline.storageFaults = onCheckpointError == .retry ? .retry(maxSeconds: storageRetryMaxSeconds) : .exit
        pipeline.stopOnRetentionGap = onRetentionGap == .stop
    }

    /// A policy key: the default's, a category's or a product's.
    private mutating func applyPolicy(_ key: String, _ value: String, origin: String) throws {
        let parts = key.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        var category: String?, product: String?
        // Names may hold dots: everything between the scope and the last part.
        let name = parts.count >= 4 ? parts[2..<(parts.count - 1)].joined(separator: ".") : ""
        switch (parts.count, parts.count > 1 ? parts[1] : "") {
        case (4..., "category"): category = name
        case (4..., "product"): product = name
        default:
            throw ConfigError(key: key, message: "unknown key (from \(origin)); a category's or product's policy key is decisions.category.NAME.KEY or decisions.product.ID.KEY ([decisions.category.NAME] tables in TOML)")
        }
        do {
            try decisions.book.set(parts.last!, value, category: category, product: product)
        } catch {
            let known = InventoryPolicy.keys.map(\.key)
            let close = known.contains(parts.last!) ? nil : known.first { Self.distance(Array($0), Array(parts.last!)) <= 2 }
            throw ConfigError(key: key, message: "\(error.message) (from \(origin))" + (close.map { "; did you mean '\($0)'?" } ?? ""))
        }
    }

    /// Checks what no single key can: the forecaster exists, librdkafka accepts the properties.
    mutating func validate() throws {
        sync()
        if let d = pipeline.decisions, d.book.longestCoverage > pipeline.horizons {
            throw ConfigError(key: "decisions.lead_time", message: "an order must cover lead time + review period = \(d.book.longestCoverage) periods, but forecasts reach \(pipeline.horizons) (forecast.horizons); raise forecast.horizons or shorten the lead time or review period")
        }
        _ = try pipeline.makeForecaster()
        do { try kafkaConfig(bootstrap: nil).validate() } catch let e as KafkaError {
            let key = KafkaConfig.key(of: e) ?? "kafka"
            throw ConfigError(key: "kafka.\(key)", message: "\(e.message); see librdkafka's CONFIGURATION.md for the values it takes")
        }
    }

    /// Known keys close to a misspelt one (edit distance ≤ 2, or the same name in another section).
    static func suggestion(for key: String) -> String? {
        let close = keys.keys.sorted().map { ($0, Self.distance(Array($0), Array(key))) }.filter { $0.1 <= 2 }.min { $0.1 < $1.1 }?.0
        // Or the same key in another section (checkpoint.recalibration → forecast.recalibration).
        return close ?? keys.keys.sorted().first { $0.split(separator: ".").last == key.split(separator: ".").last }
    }

    /// Edit distance between two keys.
    static func distance(_ a: [Character], _ b: [Character]) -> Int {
        var row = Array(0...b.count)
        for i in 1...max(a.count, 1) where !a.isEmpty {
            var prev = row[0]
            row[0] = i
            for j in 1...max(b.count, 1) where !b.isEmpty {
                let cur = row[j]
                row[j] = min(row[j] + 1, row[j - 1] + 1, prev + (a[i - 1] == b[j - 1] ? 0 : 1))
                prev = cur
            }
        }
        return row[b.count]
    }

    func kafkaConfig(bootstrap: String?) -> KafkaConfig {
        var c = KafkaConfig(bootstrapServers: bootstrap ?? kafka["bootstrap.servers"] ?? "127.0.0.1:9092", properties: [:])
        for (k, v) in kafka where k != "bootstrap.servers" { c[k] = v }
        return c
    }
}
