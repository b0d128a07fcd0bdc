import Events
import Foundation
import Windows

/// What to simulate.
public struct SimulationConfig: Sendable {
    public var products = 100
    public var periods = 120
    public var period: Period = .day
    public var seed: UInt64 = 1
    public var start: Int64 = Timestamp.parse("2024-01-01T00:00:00Z")!
    public var calendar: [CalendarEvent] = []
    public var drifts: [DriftSpec] = []
    /// Quantile levels of the ground-truth file.
    public var truthQuantiles: [Double] = [0.1, 0.5, 0.9]
    /// Share of events delivered after their period closed (late).
    public var lateShare = 0.001
    /// Each product's level wanders when set: its log-deviation follows an AR(1),
    /// d_t = persistence · d_{t−1} + sd · ε_t, so demand's misses persist from period to period
    /// as on real data. Nil (the default): levels move only by drift, and one-step errors are white.
    public var levelWander: LevelWander?
    /// How many products sell slowly and intermittently, and how noisy demand is around its mean.
    public var mix = ProductMix()
    /// Parts of the demand structure left out (none by default): what a forecaster's gap to the
    /// oracle is made of shows when they are switched off one at a time. A part left out still
    /// makes its own random draws (its events are dropped after), so the products, their
    /// parameters and the rest of the structure stay those of the full log.
    public var without: Set<DemandStructure> = []
    public init() {}
}

/// The parts of the simulated demand structure (`SimulationConfig.without`).
public enum DemandStructure: String, CaseIterable, Sendable {
    /// Promotions (announced price cuts with their own lift).
    case promotions
    /// Permanent price changes (±10 %, announced a week ahead).
    case priceChanges = "price-changes"
    /// Page views (which lead demand by 1–3 days).
    case views
    /// The calendar's holidays and events.
    case holidays
    /// The day-of-week pattern.
    case weekly
    /// The yearly season.
    case yearly
    /// The category factor every product of a category shares (an AR(1) of log demand).
    case category
    /// Each product's trend.
    case growth
}

/// The simulated assortment's make-up (`SimulationConfig.mix`). The defaults are a retailer's
/// item level: 40 % slow, intermittent sellers and strongly over-dispersed demand. An aggregate
/// such as walmart's store × department sales is steadier: no intermittent series and large
/// shapes (little noise beyond Poisson), so a level shift shows within a period or two.
public struct ProductMix: Sendable, Equatable {
    /// Share of products that are low-volume and intermittent (~0.3 a day).
    public var intermittentShare = 0.4
    /// Range of the negative binomial shape r (variance μ + μ²/r), drawn uniformly per product:
    /// the larger, the less noise beyond Poisson.
    public var shapes: ClosedRange<Double> = 0.5...4.5
    public init() {}

    /// Parses a `MIN:MAX` shape range, both positive.
    public static func shapeRange(_ text: String) -> ClosedRange<Double>? {
        guard let (lo, hi) = numberPair(text), lo > 0, hi >= lo, hi.isFinite else { return nil }
        return lo...hi
    }
}

/// `A:B`, two numbers: how the simulator's two-part options are written.
func numberPair(_ text: String) -> (Double, Double)? {
    let parts = text.split(separator: ":")
    guard parts.count == 2, let a = Double(parts[0]), let b = Double(parts[1]) else { return nil }
    return (a, b)
}

/// A product-level AR(1) wander of log demand (`SimulationConfig.levelWander`).
public struct LevelWander: Sendable, Equatable, CustomStringConvertible {
    public var persistence: Double
    public var sd: Double

    public init(persistence: Double, sd: Double) {
        self.persistence = persistence
        self.sd = sd
    }

    /// `PERSISTENCE:SD`, persistence in [0, 1), sd in (0, 1].
    public init?(_ text: String) {
        guard let (phi, sd) = numberPair(text), phi >= 0, phi < 1, sd > 0, sd <= 1 else { return nil }
        self.init(persistence: phi, sd: sd)
    }

    /// The deviation's stationary standard deviation.
    public var stationarySD: Double { sd / (1 - persistence * persistence).squareRoot() }

    public var description: String { "\(persistence):\(sd)" }
}

/// One (product, period) of the ground truth: the demand distribution and the draw.
public struct TruthRow: Sendable {
    public var product: String
    public var periodStart: Int64
    public var mean: Double
    public var shape: Double
    public var quantiles: [Int]
    public var units: Int
    /// The product's price elasticity in this period: a planned change of the price by a factor f
    /// (no promotion) multiplies the mean by f^elasticity.
    public var elasticity: Double

    /// `product,start,mean,shape,units,q...,elasticity` (the truth file's CSV row).
    public var csv: String {
        "\(product),\(Timestamp.format(periodStart)),\(mean),\(shape),\(units)," + quantiles.map(String.init).joined(separator: ",") + ",\(elasticity)"
    }
}

/// A drift applied to one product.
public struct DriftRecord: Sendable {
    public var product: String
    public var spec: DriftSpec
    public var periodStart: Int64

    public var json: String {
        "{\"product\":\"\(product)\",\"kind\":\"\(spec.kind.rawValue)\",\"factor\":\(spec.factor),\"period\":\(spec.period),\"start\":\"\(Timestamp.format(periodStart))\"}"
    }
}

/// A retail event generator with known ground truth.
///
/// Demand of product i in period t is negative binomial with mean
///   μ = level · growth^t · weekly(day of week) · yearly(t) · (price/reference)^elasticity
///       · promo lift · holidays(t) · category factor(t) · drift [· exp(wander_i(t))],
/// and shape r_i (variance μ + μ²/r). Page views lead demand by 1–3 days. Some products launch
/// mid-log (cold start) or retire; by default 40 % are low-volume and intermittent (`ProductMix`).
/// Promotions and price changes are announced ahead as price events with a future `effective`.
/// Sales are individual events inside their period, emitted in arrival order with a small random
/// delay (mildly out of order) and a few very late ones. The truth (each period's distribution,
/// its quantiles and the draw) and the drifts applied are reported through callbacks.
public enum Simulator {
    /// Generates the log; returns the number of events written.
    @discardableResult
    public static func generate(_ c: SimulationConfig, write: (UnsafeRawBufferPointer) -> Void,
                                truth: ((TruthRow) -> Void)? = nil, drift: ((DriftRecord) -> Void)? = nil) -> Int {
        var run = SimulationRun(c)
        for t in 0..<c.periods { run.period(t, write: write, truth: truth, drift: drift) }
        run.finish(write: write)
        return run.count
    }
}

extension Timestamp {
    /// Day of week of a time, 0 = Monday.
    static func dayOfWeek(_ ms: Int64) -> Int {
        let days = Int((ms >= 0 ? ms : ms - 86_399_999) / 86_400_000)
        return ((days + 3) % 7 + 7) % 7
    }
}
