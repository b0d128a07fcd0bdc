import Events
import Forecasting
import Windows

/// Whole per-product histories from a replay log, built by the same windows the service uses
/// (so training sees exactly the features serving sees).
public enum SeriesBuilder {
    public static func build(path: String, period: Period, categories: Int, maxPeriods: Int = 4096) throws -> [ProductSeries] {
        var config = WindowConfig(period: period, length: maxPeriods, lateness: period.nominalMs / 4, maxFuturePeriods: 1_000_000)
        config.keepsPriceHistory = true
        var windows = PartitionWindows(partition: 0, config: config)
        let decoder = EventDecoder()
        let inputs = ["sales", "page-views", "prices"]
        var lastPeriod = Int64.min
        try ReplayReader(path: path).forEachLine { line, _ in
            guard case .success(let e) = decoder.decode(line) else { return }
            if e.kind != .price { lastPeriod = max(lastPeriod, period.index(of: e.time)) }
            _ = windows.ingest(e, input: inputs[Int(e.kind.rawValue)])
            while windows.closeNext({ _, _ in }) != nil {}
        }
        // The log is the whole history: every period with data is complete.
        if lastPeriod > Int64.min { windows.forceClose(through: lastPeriod) }
        return windows.products.map { ProductSeries(window: $0, categories: categories) }
    }
}
