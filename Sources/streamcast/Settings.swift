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
    var recalibration = "off"
    var recalibrationStep: Float = 0.05
    var recalibrationScale = ConformalRecalibrator.StepScale.level
    /// Early-refresh thresholds (applied when `forecast.early_refresh` is on, in any key order).
    var earlyRule = EarlyRefresh()
    var storageRetry = false
    var storageRetryMaxSeconds = 600.0
    /// Hot reload: how often the model file is checked for changes (0: only on SIGHUP).
    var reloadPollSeconds = 5.0
    /// The policies and correlation, kept while decisions are off so turning them back on in a
    /// later layer restores them.
    var decisions = DecisionsConfig()

    /// Keys and what they take (section.key); `kafka.*` passes any librdkafka property through.
    static let keys: [String: String] = baseKeys.merging(policyKeys) { a, _ in a }
    private static let baseKeys: [String: String] = [
        "topics.sales": "a topic name", "topics.page_views": "a topic name", "topics.prices": "a topic name",
        "topics.mixed": "a topic name (\"\" for per-kind topics)", "topics.forecasts": "a topic name",
        "topics.dead_letter": "a topic name", "topics.drift": "a topic name",
        "topics.changelog": "a topic name (\"\": state only in the local file)",
        "topics.recommendations": "a topic name",
        "topics.inventory": "a topic name (\"\": no inventory input; with one, recommendations carry order quantities)",
        "topics.costs": "a topic name (\"\": no costs input; with one, each product's own policy keys arrive there)",
        "decisions.enabled": "true or false (an order recommendation with every forecast)",
        "decisions.horizon_correlation": "a number in [0, 1] (how forecast errors of the periods one order covers move together; 0: independent)",
        "monitoring.enabled": "true or false", "monitoring.window": "an integer in 2...10000 (periods)",
        "monitoring.ph_delta": "a number >= 0 (per-product Page-Hinkley tolerance, in forecast-spread units)",
        "monitoring.ph_lambda": "a number > 0 (per-product Page-Hinkley alarm threshold)", "topics.partitions": "an integer in 1...1024",
        "windows.period": "one of hour, day, week, month", "windows.length": "an integer in 2...4096",
        "windows.lateness_seconds": "an integer >= 0", "windows.max_future_periods": "an integer >= 1",
        "windows.idle_grace_seconds": "a number >= 0 (how long an input that has caught up still holds its partition's clock)",
        "forecast.model": "a forecaster name", "forecast.model_file": "a model file from `streamcast train` (A+B+C: the ensemble of those files)", "forecast.horizons": "an integer in 1...1000",
        "forecast.early_refresh": "true or false (refresh before the period closes on a page-view surge or price change)",
        "forecast.early_refresh_view_ratio": "a number >= 1 (views so far / usual views per period)",
        "forecast.early_refresh_min_views": "a number >= 0",
        "forecast.early_refresh_price_change": "a number in (0, 1) (relative price change)",
        "forecast.reload_poll_seconds": "a number >= 0 (0: reload the model only on SIGHUP)",
        "forecast.error_memory": "true or false (the feedback model's error memory)",
        "forecast.recalibration": "off or product (adaptive conformal quantile tracking per product)",
        "forecast.recalibration_step": "a number in (0, 1] (step per miss, in units of the product's scale)",
        "forecast.recalibration_scale": "level or width (a step is relative to the product's mean, or to the width of the interval it emitted)",
        "forecast.quantiles": "increasing numbers in (0, 1), e.g. [0.1, 0.5, 0.9]",
        "checkpoint.path": "a file path", "checkpoint.every_seconds": "a number > 0",
        "checkpoint.every_events": "an integer >= 1",
        "checkpoint.on_error": "exit or retry (what to do when a checkpoint cannot be written)",
        "checkpoint.retry_max_seconds": "a number >= 0 (how long on_error = \"retry\" keeps trying; 0: without limit)",
        "events.max_message_bytes": "an integer in 256...16777216",
        "service.group": "a consumer group id", "service.http": "ADDR:PORT",
        "service.instance": "a name unique in the group (static membership: a restarted instance gets its partitions back without a rebalance)",
        "service.on_retention_gap": "continue or stop (an input partition no longer holds offsets the state has not read)",
    ]

    /// Policy keys: `decisions.KEY` for the default, `decisions.category.NAME.KEY`,
    /// `decisions.product.ID.KEY` (InventoryPolicy.keys).
    static let policyKeys: [String: String] = Dictionary(uniqueKeysWithValues: InventoryPolicy.keys.map { ("decisions.\($0.key)", $0.takes) })

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
        if key.hasPrefix("kafka.") {
            // The rebalance callback assigns and revokes whole assignments (the eager protocol);
            // an incremental one would be misread, so it is refused here, not at the first rebalance.
            if key == "kafka.partition.assignment.strategy" && value.contains("cooperative") {
                throw ConfigError(key: key, message: "'\(value)' (from \(origin)) is an incremental (cooperative) protocol, which StreamCast does not handle; use range or roundrobin (eager, librdkafka's default), and service.instance for restarts without a rebalance wait")
            }
            kafka[String(key.dropFirst(6))] = value
            return
        }
        if Self.policyKeys[key] != nil || key.hasPrefix("decisions.category.") || key.hasPrefix("decisions.product.") {
            return try applyPolicy(key, value, origin: origin)
        }
        guard let expected = Self.keys[key] else {
            let close = Self.suggestion(for: key)
            throw ConfigError(key: key, message: "unknown key (from \(origin))" + (close.map { "; did you mean '\($0)'?" } ?? "; known keys: \(Self.keys.keys.sorted().joined(separator: ", ")), kafka.<librdkafka property>"))
        }
        func bad() -> ConfigError { ConfigError(key: key, message: "expected \(expected), got \"\(value)\" (from \(origin))") }
        func int(_ range: ClosedRange<Int>) throws -> Int {
            guard let v = Int(value.trimmingCharacters(in: .whitespaces)), range.contains(v) else { throw bad() }
            return v
        }
        func name() throws -> String {
            guard !value.isEmpty, !value.contains(" ") else { throw bad() }
            return value
        }
        switch key {
        case "topics.sales": pipeline.topics.sales = try name()
        case "topics.page_views": pipeline.topics.pageViews = try name()
        case "topics.prices": pipeline.topics.prices = try name()
        case "topics.mixed": pipeline.topics.mixed = value.isEmpty ? nil : try name()
        case "topics.forecasts": pipeline.topics.forecasts = try name()
        case "topics.dead_letter": pipeline.topics.deadLetter = try name()
        case "topics.drift": pipeline.topics.drift = try name()
        case "topics.changelog": pipeline.topics.changelog = value.isEmpty ? nil : try name()
        case "topics.recommendations": pipeline.topics.recommendations = try name()
        case "topics.inventory": pipeline.topics.inventory = value.isEmpty ? nil : try name()
        case "topics.costs": pipeline.topics.costs = value.isEmpty ? nil : try name()
        case "decisions.enabled":
            guard let b = Bool(value) else { throw bad() }
            pipeline.decisions = b ? (pipeline.decisions ?? decisions) : nil
        case "decisions.horizon_correlation":
            guard let v = Double(value), v >= 0, v <= 1 else { throw bad() }
            decisions.correlation = v
            pipeline.decisions?.correlation = v
        case "monitoring.enabled":
            guard let b = Bool(value) else { throw bad() }
            pipeline.monitoring = b ? (pipeline.monitoring ?? ForecastMonitor.Config()) : nil
        case "monitoring.window":
            let v = try int(2...10_000)
            pipeline.monitoring?.window = v
        case "monitoring.ph_delta":
            guard let v = Double(value), v >= 0 else { throw bad() }
            pipeline.monitoring?.delta = v
        case "monitoring.ph_lambda":
            guard let v = Double(value), v > 0 else { throw bad() }
            pipeline.monitoring?.lambda = v
        case "topics.partitions": pipeline.partitions = try int(1...1024)
        case "windows.period":
            guard let p = Period(rawValue: value) else { throw bad() }
            let latenessWasDefault = pipeline.windows.lateness == pipeline.windows.period.nominalMs / 4
            pipeline.windows.period = p
            if latenessWasDefault { pipeline.windows.lateness = p.nominalMs / 4 }
        case "windows.length": pipeline.windows.length = try int(2...4096)
        case "windows.lateness_seconds": pipeline.windows.lateness = Int64(try int(0...Int(Int32.max))) * 1000
        case "windows.max_future_periods": pipeline.windows.maxFuturePeriods = Int64(try int(1...100_000))
        case "windows.idle_grace_seconds":
            guard let v = Double(value), v >= 0, v.isFinite else { throw bad() }
            pipeline.idleGraceSeconds = v
        case "forecast.model": pipeline.forecaster = try name()
        case "forecast.model_file": modelFile = value.isEmpty ? nil : value
        case "forecast.horizons": pipeline.horizons = try int(1...1000)
        case "forecast.early_refresh":
            guard let b = Bool(value) else { throw bad() }
            pipeline.earlyRefresh = b ? (pipeline.earlyRefresh ?? EarlyRefresh()) : nil
        case "forecast.early_refresh_view_ratio":
            guard let v = Double(value), v >= 1 else { throw bad() }
            earlyRule.viewRatio = v
        case "forecast.early_refresh_min_views":
            guard let v = Double(value), v >= 0 else { throw bad() }
            earlyRule.minViews = v
        case "forecast.early_refresh_price_change":
            guard let v = Double(value), v > 0, v < 1 else { throw bad() }
            earlyRule.priceChange = v
        case "forecast.reload_poll_seconds":
            guard let v = Double(value), v >= 0 else { throw bad() }
            reloadPollSeconds = v
        case "forecast.error_memory":
            guard let b = Bool(value) else { throw bad() }
            errorMemory = b
        case "forecast.recalibration":
            guard ["off", "product"].contains(value) else { throw bad() }
            recalibration = value
        case "forecast.recalibration_step":
            guard let v = Float(value), v > 0, v <= 1 else { throw bad() }
            recalibrationStep = v
        case "forecast.recalibration_scale":
            guard let v = ConformalRecalibrator.StepScale(rawValue: value) else { throw bad() }
            recalibrationScale = v
        case "forecast.quantiles":
            let qs = value.split(separator: ",").map { Double($0.trimmingCharacters(in: .whitespaces)) }
            guard !qs.isEmpty, qs.allSatisfy({ $0 != nil && $0! > 0 && $0! < 1 }),
                  zip(qs, qs.dropFirst()).allSatisfy({ $0! < $1! }) else { throw bad() }
            pipeline.quantiles = qs.map { $0! }
        case "checkpoint.path": statePath = try name()
        case "checkpoint.every_seconds":
            guard let v = Double(value), v > 0 else { throw bad() }
            pipeline.checkpointSeconds = v
        case "checkpoint.every_events": pipeline.checkpointEvents = try int(1...Int(Int32.max))
        case "checkpoint.on_error":
            guard ["exit", "retry"].contains(value) else { throw bad() }
            storageRetry = value == "retry"
        case "checkpoint.retry_max_seconds":
            guard let v = Double(value), v >= 0 else { throw bad() }
            storageRetryMaxSeconds = v
        case "events.max_message_bytes": pipeline.maxMessageBytes = try int(256...16_777_216)
        case "service.group": group = try name()
        case "service.http":
            guard value.split(separator: ":").count == 2, Int(value.split(separator: ":")[1]) != nil else { throw bad() }
            http = value
        case "service.instance": instance = value.isEmpty ? nil : try name()
        case "service.on_retention_gap":
            guard ["continue", "stop"].contains(value) else { throw bad() }
            pipeline.stopOnRetentionGap = value == "stop"
        default: throw bad()
        }
    }

    /// A policy key: the default's, a category's or a product's.
    private mutating func applyPolicy(_ key: String, _ value: String, origin: String) throws {
        let parts = key.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        var category: String?, product: String?
        // Names may hold dots: everything between the scope and the last part.
        let name = parts.count >= 4 ? parts[2..<(parts.count - 1)].joined(separator: ".") : ""
        switch (parts.count, parts.count > 1 ? parts[1] : "") {
        case (2, _): break
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
        pipeline.decisions?.book = decisions.book
    }

    /// Checks what no single key can: the forecaster exists, librdkafka accepts the properties.
    mutating func validate() throws {
        if let d = pipeline.decisions, d.book.longestCoverage > pipeline.horizons {
            throw ConfigError(key: "decisions.lead_time", message: "an order must cover lead time + review period = \(d.book.longestCoverage) periods, but forecasts reach \(pipeline.horizons) (forecast.horizons); raise forecast.horizons or shorten the lead time or review period")
        }
        if pipeline.earlyRefresh != nil { pipeline.earlyRefresh = earlyRule }
        pipeline.storageFaults = storageRetry ? .retry(maxSeconds: storageRetryMaxSeconds) : .exit
        _ = try pipeline.makeForecaster()
        do { try kafkaConfig(bootstrap: nil).validate() } catch let e as KafkaError {
            let key = KafkaConfig.key(of: e) ?? "kafka"
            throw ConfigError(key: "kafka.\(key)", message: "\(e.message); see librdkafka's CONFIGURATION.md for the values it takes")
        }
    }

    /// Known keys close to a misspelt one (same section, edit distance ≤ 2).
    static func suggestion(for key: String) -> String? {
        keys.keys.sorted().map { ($0, Self.distance(Array($0), Array(key))) }.filter { $0.1 <= 2 }.min { $0.1 < $1.1 }?.0
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
