import Events
import Windows

/// The forecast message of the contract: key = product, value = this JSON (schema 1).
/// Values are a function of the log, configuration and model only (no wall-clock inside).
public struct ForecastMessage: Sendable, Equatable {
    public var product: String
    public var period: Period
    /// Start of the last closed period the forecast was made after (FCT).
    public var fct: Int64
    public var quantiles: [Double]
    /// Start of each target period (horizons 1..H) and its quantile values.
    public var targets: [(start: Int64, q: [Float])]
    public var model: String

    public init(product: String, period: Period, fct: Int64, quantiles: [Double], targets: [(start: Int64, q: [Float])], model: String) {
        self.product = product
        self.period = period
        self.fct = fct
        self.quantiles = quantiles
        self.targets = targets
        self.model = model
    }

    /// Builds the message for the forecast made when `window`'s last closed period closed.
    public init(window: ProductWindow, period: Period, quantiles: [Double], values: [[Float]], model: String) {
        let last = window.lastClosed
        self.init(product: window.product, period: period, fct: period.start(of: last), quantiles: quantiles,
                  targets: values.enumerated().map { (h, q) in (period.start(of: last + 1 + Int64(h)), q) },
                  model: model)
    }

    public static func == (a: Self, b: Self) -> Bool {
        a.product == b.product && a.period == b.period && a.fct == b.fct && a.quantiles == b.quantiles
            && a.model == b.model && a.targets.count == b.targets.count
            && zip(a.targets, b.targets).allSatisfy { $0.start == $1.start && $0.q == $1.q }
    }

    public var json: String {
        var s = "{\"schema\":1,\"product\":\(EventEncoder.quote(product)),\"period\":\"\(period.rawValue)\",\"fct\":\"\(Timestamp.format(fct))\",\"quantiles\":["
        s += quantiles.map { "\($0)" }.joined(separator: ",")
        s += "],\"targets\":["
        s += targets.map { t in
            "{\"start\":\"\(Timestamp.format(t.start))\",\"q\":[" + t.q.map(Self.number).joined(separator: ",") + "]}"
        }.joined(separator: ",")
        s += "],\"model\":\(EventEncoder.quote(model))}"
        return s
    }

    /// Shortest round-trip decimal of a Float; integers without ".0".
    static func number(_ v: Float) -> String {
        if v == v.rounded(), v.magnitude < 1e7 { return String(Int(v)) }
        return "\(v)"
    }
}
