import Events
import Foundation
import Synchronization
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
    /// An early refresh (before the period closed): carried in a Kafka header, not in the value.
    public var provisional = false

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

    public var json: String { String(decoding: jsonBytes, as: UTF8.self) }

    /// The message value, written straight into bytes (this is on the hot path of every close).
    public var jsonBytes: [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(96 + targets.count * (40 + 12 * quantiles.count))
        out.append(contentsOf: #"{"schema":1,"product":"#.utf8)
        out.append(contentsOf: EventEncoder.quote(product).utf8)
        out.append(contentsOf: #","period":""#.utf8)
        out.append(contentsOf: period.rawValue.utf8)
        out.append(contentsOf: #"","fct":""#.utf8)
        TimestampCache.append(fct, to: &out)
        out.append(contentsOf: #"","quantiles":["#.utf8)
        for (i, q) in quantiles.enumerated() {
            if i > 0 { out.append(0x2C) }
            out.append(contentsOf: "\(q)".utf8)
        }
        out.append(contentsOf: #"],"targets":["#.utf8)
        for (i, t) in targets.enumerated() {
            if i > 0 { out.append(0x2C) }
            out.append(contentsOf: #"{"start":""#.utf8)
            TimestampCache.append(t.start, to: &out)
            out.append(contentsOf: #"","q":["#.utf8)
            for (k, v) in t.q.enumerated() {
                if k > 0 { out.append(0x2C) }
                Self.appendNumber(v, to: &out)
            }
            out.append(contentsOf: "]}".utf8)
        }
        out.append(contentsOf: #"],"model":"#.utf8)
        out.append(contentsOf: EventEncoder.quote(model).utf8)
        out.append(0x7D)
        return out
    }

    /// Integers without ".0", other values as Swift's shortest round-trip decimal.
    static func appendNumber(_ v: Float, to out: inout [UInt8]) {
        if v == v.rounded(), v.magnitude < 1e7 {
            var n = Int(v)
            if n < 0 { out.append(0x2D); n = -n }
            if n == 0 { out.append(0x30); return }
            var digits: (UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8) = (0, 0, 0, 0, 0, 0, 0, 0)
            var count = 0
            withUnsafeMutableBytes(of: &digits) { d in
                while n > 0 { d[count] = UInt8(48 + n % 10); n /= 10; count += 1 }
                for i in stride(from: count - 1, through: 0, by: -1) { out.append(d[i]) }
            }
            return
        }
        out.append(contentsOf: v.description.utf8)
    }

}

/// Formatted period starts: the same few instants appear in every forecast of a close.
enum TimestampCache {
    private static let cache = Mutex<[Int64: [UInt8]]>([:])

    static func append(_ ms: Int64, to out: inout [UInt8]) {
        let bytes = cache.withLock { cache in
            if let hit = cache[ms] { return hit }
            let bytes = Array(Timestamp.format(ms).utf8)
            if cache.count > 100_000 { cache.removeAll() }
            cache[ms] = bytes
            return bytes
        }
        out.append(contentsOf: bytes)
    }
}
