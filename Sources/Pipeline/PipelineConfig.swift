import Decisions
import Events
import Forecasting
import Monitoring
import Windows

/// Topic names (contract defaults).
public struct Topics: Sendable, Equatable {
    public var sales = "sales"
    public var pageViews = "page-views"
    public var prices = "prices"
    /// When set, all kinds arrive on this one topic and `type` decides.
    public var mixed: String? = nil
    public var forecasts = "forecasts"
    public var deadLetter = "streamcast-dlq"
    /// Drift alerts and recoveries.
    public var drift = "forecast-drift"
    /// The state changelog (one partition per input partition; compacted on a real cluster).
    /// nil: state lives only in the instance's local file.
    public var changelog: String? = "streamcast-changelog"
    /// Order recommendations (one per forecast, when decisions are on).
    public var recommendations = "recommendations"
    /// Inventory snapshots (on hand, on order) per product: an input when set, so recommendations
    /// carry order quantities. nil: no inventory input.
    public var inventory: String? = nil
    /// Per-product cost policies (any policy key, newest message wins): an input when set.
    public var costs: String? = nil

    /// How the changelog topic is created on a real cluster: compacted (the newest record of each
    /// product is kept for good), and not compacted within the first hour, so records of a
    /// checkpoint that never completed are superseded by the next owner's snapshot before
    /// compaction could drop what they replace.
    public static let changelogTopicConfig = ["cleanup.policy": "compact", "min.compaction.lag.ms": "3600000"]

    public init() {}

    /// The topics the service consumes.
    public var inputs: [String] { mixed.map { [$0] } ?? ([sales, pageViews, prices] + [inventory, costs].compactMap { $0 }) }

    /// The kind a topic carries (nil = mixed, `type` decides).
    public func kind(of topic: String) -> EventKind? {
        if topic == mixed { return nil }
        switch topic {
        case sales: return .sale
        case pageViews: return .pageView
        case prices: return .price
        case inventory: return .inventory
        case costs: return .costs
        default: return nil
        }
    }

    /// The topic an event of this kind is published to.
    public func topic(for kind: EventKind) -> String {
        if let mixed { return mixed }
        switch kind {
        case .sale: return sales
        case .pageView: return pageViews
        case .price: return prices
        case .inventory: return inventory ?? prices
        case .costs: return costs ?? prices
        }
    }
}

/// Everything the pipeline needs to turn events into forecasts.
public struct PipelineConfig: Sendable {
    public var windows = WindowConfig()
    public var horizons = 14
    public var quantiles: [Double] = [0.1, 0.5, 0.9]
    public var forecaster = "seasonal_naive"
    public var topics = Topics()
    /// Partitions of the input topics (offline replays partition products the same way).
    public var partitions = 4
    public var maxMessageBytes = 64 * 1024
    /// Checkpoint every this many seconds or events, whichever comes first.
    public var checkpointSeconds = 5.0
    /// How long an input that has caught up with its partition's end keeps holding the partition's
    /// clock (Kafka Streams' max.task.idle.ms): a feed that lags behind the others by less than
    /// this loses nothing to lateness. Processing time; the Kafka service only (a replay knows
    /// where each input ends).
    public var idleGraceSeconds = 30.0
    /// Stop (true) or go on (false, logging an error) when an input partition no longer holds
    /// offsets the state has not read yet (retention deleted them before they were consumed).
    public var stopOnRetentionGap = false
    public var checkpointEvents = 200_000
    /// What to do when a checkpoint cannot be written (read-only file, full disk, lock held).
    public var storageFaults = StorageFaultPolicy.exit
    /// Refresh a product before its period closes when its partial-period signals jump (nil: off).
    public var earlyRefresh: EarlyRefresh? = nil
    /// Online monitoring of the forecasts (nil: off).
    public var monitoring: ForecastMonitor.Config? = ForecastMonitor.Config()
    /// Order recommendations from each forecast (nil: off).
    public var decisions: DecisionsConfig? = DecisionsConfig()

    public init() {}

    /// What the stored state depends on; a checkpoint written under another one is refused.
    public var fingerprint: String {
        "period=\(windows.period.rawValue) length=\(windows.length) lateness=\(windows.lateness) partitions=\(partitions) inputs=\(topics.inputs.joined(separator: ","))"
    }

    public func makeForecaster() throws -> any Forecaster {
        guard let f = Forecasters.make(forecaster, period: windows.period) else {
            throw ConfigError(key: "forecast.model", message: "unknown forecaster '\(forecaster)'; use one of \(Forecasters.names.joined(separator: ", "))")
        }
        return f
    }
}

/// What the service does when a checkpoint cannot be written. Either way the stored offsets never
/// pass the stored state: nothing is lost, at worst re-read.
public enum StorageFaultPolicy: Sendable, Equatable {
    /// Stop with the error and a non-zero status; a supervisor restarts the service, which resumes
    /// from the last checkpoint.
    case exit
    /// Pause consumption, keep the state in memory, and retry the checkpoint with backoff (on a
    /// fresh connection) for up to `maxSeconds` (0: without limit), then stop as `.exit` does.
    case retry(maxSeconds: Double)
}

/// A configuration problem, naming the key and the fix.
public struct ConfigError: Error, CustomStringConvertible, Sendable {
    public var key: String
    public var message: String
    public init(key: String, message: String) {
        self.key = key
        self.message = message
    }
    public var description: String { "config error at '\(key)': \(message)" }
}

/// When a product is refreshed early: a page-view surge in the open period, or an
/// announced price change within the horizon. At most one early refresh per product and period.
public struct EarlyRefresh: Sendable, Equatable {
    /// Views so far in the open period ≥ this × the mean views per closed period in the window.
    public var viewRatio = 3.0
    /// ... and at least this many views (a product with 2 views a day is not surging at 6).
    public var minViews = 20.0
    /// A price change of at least this fraction of the current price, effective within the horizon.
    public var priceChange = 0.05
    public init() {}
}

/// How forecasts become order recommendations: the policies, and how the covered periods'
/// forecast errors move together.
public struct DecisionsConfig: Sendable, Equatable {
    public var book = PolicyBook()
    /// Correlation of forecast errors between the periods one order covers (0: independent).
    public var correlation = 0.0
    public init() {}

    func recommender(period: Period) -> Recommender {
        Recommender(book: book, periodsPerYear: period.perYear, correlation: correlation)
    }
}

extension Period {
    /// Periods in an average (Gregorian) year.
    public var perYear: Double {
        switch self {
        case .hour: 8765.82
        case .day: 365.2425
        case .week: 365.2425 / 7
        case .month: 12
        }
    }
}
