import Decisions
import Forecasting
import Monitoring
import Pipeline
import Windows

/// One configuration key: its name (`section.key`), what it takes (error messages and
/// docs/operations.md say it), and how a value sets it. The TOML file, `STREAMCAST_*` environment
/// variables and command-line flags all go through this one table (`Settings.apply`).
struct ConfigKey: Sendable {
    let name: String
    let takes: String
    /// Sets the value; nil when the value is not one the key takes.
    let set: @Sendable (inout Settings, String) -> Bool?

    /// A topic name.
    static func topic(_ key: String, _ path: WritableKeyPath<Settings, String> & Sendable) -> ConfigKey { name(key, "a topic name", path) }

    /// A name: non-empty, no spaces.
    static func name(_ key: String, _ takes: String, _ path: WritableKeyPath<Settings, String> & Sendable) -> ConfigKey {
        ConfigKey(name: key, takes: takes) { s, v in isName(v) ? { s[keyPath: path] = v; return true }() : nil }
    }

    /// A name, or "" for none.
    static func optionalName(_ key: String, _ takes: String, _ path: WritableKeyPath<Settings, String?> & Sendable) -> ConfigKey {
        ConfigKey(name: key, takes: takes) { s, v in v.isEmpty || isName(v) ? { s[keyPath: path] = v.isEmpty ? nil : v; return true }() : nil }
    }

    static func int(_ key: String, _ range: ClosedRange<Int>, _ takes: String? = nil, _ set: @escaping @Sendable (inout Settings, Int) -> Void) -> ConfigKey {
        ConfigKey(name: key, takes: takes ?? "an integer in \(range.lowerBound)...\(range.upperBound)") { s, v in
            guard let i = Int(v.trimmingCharacters(in: .whitespaces)), range.contains(i) else { return nil }
            set(&s, i)
            return true
        }
    }

    static func number(_ key: String, _ takes: String, _ ok: @escaping @Sendable (Double) -> Bool, _ set: @escaping @Sendable (inout Settings, Double) -> Void) -> ConfigKey {
        ConfigKey(name: key, takes: takes) { s, v in
            guard let d = Double(v.trimmingCharacters(in: .whitespaces)), d.isFinite, ok(d) else { return nil }
            set(&s, d)
            return true
        }
    }

    static func flag(_ key: String, _ takes: String, _ path: WritableKeyPath<Settings, Bool> & Sendable) -> ConfigKey {
        ConfigKey(name: key, takes: "true or false" + takes) { s, v in Bool(v).map { s[keyPath: path] = $0; return true } }
    }

    /// One of an enum's values; what it takes lists them.
    static func choice<E: RawRepresentable & CaseIterable & Sendable>(_ key: String, _ why: String, _ path: WritableKeyPath<Settings, E> & Sendable) -> ConfigKey
    where E.RawValue == String {
        let names = E.allCases.map(\.rawValue)
        let takes = (names.count == 2 ? "\(names[0]) or \(names[1])" : "one of " + names.joined(separator: ", ")) + why
        return ConfigKey(name: key, takes: takes) { s, v in E(rawValue: v).map { s[keyPath: path] = $0; return true } }
    }

    static func isName(_ v: String) -> Bool { !v.isEmpty && !v.contains(" ") }
}

/// Choices of the configuration, as the types they are.
enum RecalibrationMode: String, CaseIterable, Sendable { case off, product }
enum CheckpointFailure: String, CaseIterable, Sendable { case exit, retry }
enum RetentionGapPolicy: String, CaseIterable, Sendable { case `continue`, stop }
extension ConformalRecalibrator.StepScale: CaseIterable { public static let allCases: [Self] = [.level, .width] }

extension Settings {
    /// Every key StreamCast takes (`kafka.*` passes any librdkafka property through, and policy
    /// tables per category and product are `decisions.category.NAME.KEY` / `decisions.product.ID.KEY`).
    static let table: [ConfigKey] = topicKeys + windowKeys + forecastKeys + monitoringKeys + decisionKeys + serviceKeys

    private static let topicKeys: [ConfigKey] = [
        .topic("topics.sales", \.pipeline.topics.sales), .topic("topics.page_views", \.pipeline.topics.pageViews),
        .topic("topics.prices", \.pipeline.topics.prices),
        .optionalName("topics.mixed", "a topic name (\"\" for per-kind topics)", \.pipeline.topics.mixed),
        .topic("topics.forecasts", \.pipeline.topics.forecasts), .topic("topics.dead_letter", \.pipeline.topics.deadLetter),
        .topic("topics.drift", \.pipeline.topics.drift),
        .optionalName("topics.changelog", "a topic name (\"\": state only in the local file)", \.pipeline.topics.changelog),
        .topic("topics.recommendations", \.pipeline.topics.recommendations),
        .optionalName("topics.inventory", "a topic name (\"\": no inventory input; with one, recommendations carry order quantities)", \.pipeline.topics.inventory),
        .optionalName("topics.costs", "a topic name (\"\": no costs input; with one, each product's own policy keys arrive there)", \.pipeline.topics.costs),
        .int("topics.partitions", 1...1024) { $0.pipeline.partitions = $1 },
    ]

    private static let windowKeys: [ConfigKey] = [
        ConfigKey(name: "windows.period", takes: "one of hour, day, week, month") { s, v in
            guard let p = Period(rawValue: v) else { return nil }
            // The lateness follows the period unless it was set.
            let latenessWasDefault = s.pipeline.windows.lateness == s.pipeline.windows.period.nominalMs / 4
            s.pipeline.windows.period = p
            if latenessWasDefault { s.pipeline.windows.lateness = p.nominalMs / 4 }
            return true
        },
        .int("windows.length", 2...4096) { $0.pipeline.windows.length = $1 },
        .int("windows.lateness_seconds", 0...Int(Int32.max), "an integer >= 0") { $0.pipeline.windows.lateness = Int64($1) * 1000 },
        .int("windows.max_future_periods", 1...100_000, "an integer >= 1") { $0.pipeline.windows.maxFuturePeriods = Int64($1) },
        .number("windows.idle_grace_seconds", "a number >= 0 (how long an input that has caught up still holds its partition's clock)", { $0 >= 0 }) { $0.pipeline.idleGraceSeconds = $1 },
    ]

    private static let forecastKeys: [ConfigKey] = [
        .name("forecast.model", "a forecaster name", \.pipeline.forecaster),
        .optionalName("forecast.model_file", "a model file from `streamcast train` (A+B+C: the ensemble of those files)", \.modelFile),
        .int("forecast.horizons", 1...1000) { $0.pipeline.horizons = $1 },
        ConfigKey(name: "forecast.quantiles", takes: "increasing numbers in (0, 1), e.g. [0.1, 0.5, 0.9]") { s, v in
            let qs = v.split(separator: ",").map { Double($0.trimmingCharacters(in: .whitespaces)) }
            guard !qs.isEmpty, qs.allSatisfy({ $0 != nil && $0! > 0 && $0! < 1 }), zip(qs, qs.dropFirst()).allSatisfy({ $0! < $1! }) else { return nil }
            s.pipeline.quantiles = qs.map { $0! }
            return true
        },
        .flag("forecast.early_refresh", " (refresh before the period closes on a page-view surge or price change)", \.earlyRefreshOn),
        .number("forecast.early_refresh_view_ratio", "a number >= 1 (views so far / usual views per period)", { $0 >= 1 }) { $0.earlyRule.viewRatio = $1 },
        .number("forecast.early_refresh_min_views", "a number >= 0", { $0 >= 0 }) { $0.earlyRule.minViews = $1 },
        .number("forecast.early_refresh_price_change", "a number in (0, 1) (relative price change)", { $0 > 0 && $0 < 1 }) { $0.earlyRule.priceChange = $1 },
        .number("forecast.reload_poll_seconds", "a number >= 0 (0: reload the model only on SIGHUP)", { $0 >= 0 }) { $0.reloadPollSeconds = $1 },
        .flag("forecast.error_memory", " (the feedback model's error memory)", \.errorMemory),
        .choice("forecast.recalibration", " (adaptive conformal quantile tracking per product)", \.recalibration),
        .number("forecast.recalibration_step", "a number in (0, 1] (step per miss, in units of the product's scale)", { $0 > 0 && $0 <= 1 }) { $0.recalibrationStep = Float($1) },
        .choice("forecast.recalibration_scale", " (a step is relative to the product's mean, or to the width of the interval it emitted)", \.recalibrationScale),
    ]

    private static let monitoringKeys: [ConfigKey] = [
        .flag("monitoring.enabled", "", \.monitoringOn),
        .int("monitoring.window", 2...10_000, "an integer in 2...10000 (periods)") { $0.monitoring.window = $1 },
        .number("monitoring.ph_delta", "a number >= 0 (per-product Page-Hinkley tolerance, in forecast-spread units)", { $0 >= 0 }) { $0.monitoring.delta = $1 },
        .number("monitoring.ph_lambda", "a number > 0 (per-product Page-Hinkley alarm threshold)", { $0 > 0 }) { $0.monitoring.lambda = $1 },
    ]

    private static let decisionKeys: [ConfigKey] = [
        .flag("decisions.enabled", " (an order recommendation with every forecast)", \.decisionsOn),
        .number("decisions.horizon_correlation", "a number in [0, 1] (how forecast errors of the periods one order covers move together; 0: independent)",
                { $0 >= 0 && $0 <= 1 }) { $0.decisions.correlation = $1 },
    ] + InventoryPolicy.keys.map { policy in
        ConfigKey(name: "decisions.\(policy.key)", takes: policy.takes) { s, v in (try? s.decisions.book.set(policy.key, v)).map { true } }
    }

    private static let serviceKeys: [ConfigKey] = [
        .name("checkpoint.path", "a file path", \.statePath),
        .number("checkpoint.every_seconds", "a number > 0", { $0 > 0 }) { $0.pipeline.checkpointSeconds = $1 },
        .int("checkpoint.every_events", 1...Int(Int32.max), "an integer >= 1") { $0.pipeline.checkpointEvents = $1 },
        .choice("checkpoint.on_error", " (what to do when a checkpoint cannot be written)", \.onCheckpointError),
        .number("checkpoint.retry_max_seconds", "a number >= 0 (how long on_error = \"retry\" keeps trying; 0: without limit)", { $0 >= 0 }) { $0.storageRetryMaxSeconds = $1 },

        .int("events.max_message_bytes", 256...16_777_216) { $0.pipeline.maxMessageBytes = $1 },

        .name("service.group", "a consumer group id", \.group),
        ConfigKey(name: "service.http", takes: "ADDR:PORT") { s, v in
            let parts = v.split(separator: ":")
            guard parts.count == 2, Int(parts[1]) != nil else { return nil }
            s.http = v
            return true
        },
        .optionalName("service.instance", "a name unique in the group (static membership: a restarted instance gets its partitions back without a rebalance)", \.instance),
        .choice("service.on_retention_gap", " (an input partition no longer holds offsets the state has not read)", \.onRetentionGap),
    ]

    static let byName: [String: ConfigKey] = Dictionary(uniqueKeysWithValues: table.map { ($0.name, $0) })
}
