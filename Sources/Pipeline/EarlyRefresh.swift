import Events
import Forecasting
import Metrics
import Windows

/// Early refresh (optional, `forecast.early_refresh`): when an accepted event shows a product's
/// demand is about to move — a page-view surge in the open period, or an announced price change
/// within the horizon — its forecast is refreshed at once from a provisional close of the open
/// period (sales and views so far, extrapolated to the whole period; the price schedule as known
/// at the event). The message carries the FCT the period will close at, so the regular forecast at
/// the close supersedes it, and a `streamcast.refresh: early` header; so does the order
/// recommendation made from it (decisions on), so a buyer can act on the surge before the close.
///
/// Provisional forecasts leave the per-product state alone (the memory copy is dropped), so the
/// regular forecasts stay byte-identical to a run without them. Their own values depend on how far
/// each input topic had been read when the trigger came, so they are best effort, not part of the
/// replay-determinism contract; after a restart one may be emitted again.
extension StreamProcessor {
    func refreshEarlyIfTriggered(_ e: Event, partition p: Int32) throws {
        guard let rule = config.earlyRefresh, let window = partitions[p]?.windows.product(e.product) else { return }
        let period = config.windows.period
        let open = window.lastClosed + 1
        guard period.index(of: e.time) == open, partitions[p]?.earlyRefreshed[e.product] != open else { return }
        let trigger: String
        switch e.kind {
        case .pageView:
            let views = window.open.first { $0.index == open }?.views ?? 0
            let history = window.recent(.views)
            let usual = history.isEmpty ? 0 : Double(history.reduce(0, +)) / Double(history.count)
            guard views >= rule.minViews, views >= rule.viewRatio * max(usual, 1) else { return }
            trigger = "page_views"
        case .price:
            let now = Double(window.price(from: e.time, to: e.time + 1, asOf: e.time).price)
            let horizonEnd = period.end(of: open + Int64(config.horizons))
            guard e.effective < horizonEnd, now > 0, abs(e.quantity / now - 1) >= rule.priceChange else { return }
            trigger = "price_change"
        case .sale, .inventory, .costs:
            return
        }
        partitions[p]?.earlyRefreshed[e.product] = open
        let provisional = window.provisionallyClosed(at: e.time, calendar: period)
        var state = partitions[p].flatMap { s in s.windows.slot(of: e.product).map { s.forecasterState(slot: $0) } } ?? []
        let values = forecaster.forecast(provisional, horizons: config.horizons, quantiles: config.quantiles, state: &state)
        var message = ForecastMessage(window: provisional, period: period, quantiles: config.quantiles, values: values, model: forecaster.id)
        message.provisional = true
        try sink.emit(message)
        try recommend(provisional, message)
        stats.earlyRefreshes += 1
        PipelineMetrics.earlyRefreshes(trigger: trigger).increment()
    }
}
