import ArgumentParser
import Foundation
import Pipeline

/// `streamcast whatif`: a product's forecast and order recommendation under planned prices, from
/// its state at the end of a replay — what `GET /api/whatif` answers on the running service.
struct WhatIfCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "whatif",
        abstract: "Forecast and order recommendation of a product under planned prices, after replaying a log (offline /api/whatif).",
        discussion: """
            Replays the log as `replay --offline` does, then forecasts PRODUCT from its state at the \
            end (window and error memory, unchanged) at its current prices and with each --price \
            planned from --from (default: the next period) to --to (default: for good), announced \
            now. Prints the JSON the service's /api/whatif returns; with --curve, expected units and \
            revenue over the horizons across prices (as /api/price-curve).
            """)

    @Option(help: "Replay file.") var replay: String
    @Option(help: "Product id.") var product: String
    @Option(help: "Planned price (repeatable).") var price: [Double] = []
    @Option(help: "First day of the planned price (YYYY-MM-DD or RFC 3339; default: the next period).") var from: String?
    @Option(help: "End of the planned price (exclusive; default: for good).") var to: String?
    @Option(help: "Instead of --price: prices from LOW to HIGH times the current price in STEPS steps, e.g. 0.7:1.3:13.") var curve: String?
    @OptionGroup var options: PipelineOptions

    func run() throws {
        guard price.allSatisfy({ $0 > 0 && $0.isFinite }), !price.isEmpty || curve != nil else {
            throw ValidationError("give one or more --price X (X > 0), or --curve LOW:HIGH:STEPS")
        }
        let window = try WhatIfRoutes.dates(from, to)
        let settings = try options.settings()
        var pipeline = settings.pipeline
        let forecaster = try makeForecaster(settings)
        pipeline.windows.length = max(pipeline.windows.length, forecaster.contextLength)
        let processor = try StreamProcessor(config: pipeline, sink: CollectingSink(), forecaster: forecaster)
        try OfflineReplay.run(path: replay, processor: processor)
        guard let now = processor.whatIf(product: product, plans: []) else {
            throw ValidationError("product \(product) has no closed period in \(replay)")
        }
        guard let curve else {
            say(processor.whatIf(product: product, plans: price.map { PricePlan(price: $0, from: window.from, to: window.to) })!.json)
            return
        }
        let parts = curve.split(separator: ":").compactMap { Double($0) }
        guard parts.count == 3, parts[0] > 0, parts[1] > parts[0], let steps = Int(exactly: parts[2]), (2...101).contains(steps) else {
            throw ValidationError("--curve takes LOW:HIGH:STEPS, 0 < LOW < HIGH, STEPS in 2...101, e.g. 0.7:1.3:13")
        }
        guard now.price > 0 else { throw ValidationError("product \(product) has no price") }
        let factors = (0..<steps).map { parts[0] + (parts[1] - parts[0]) * Double($0) / Double(steps - 1) }
        let a = processor.whatIf(product: product, plans: factors.map { PricePlan(price: now.price * $0, from: window.from, to: window.to) })!
        say(String(format: "%@ at %g now: expected units and revenue over %d horizons", product, now.price, pipeline.horizons))
        for s in a.planned {
            say(String(format: "price %10.4g  units %10.4g  revenue %12.6g", s.plan!.price, s.expectedUnits, s.expectedRevenue))
        }
    }
}
