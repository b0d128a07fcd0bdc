import ArgumentParser
import Foundation
import Pipeline
import Windows

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
            revenue over the horizons across prices (as /api/price-curve). With --truth (a \
            simulated log's truth file) instead of --product: every product's median response to \
            each of --changes through this same path, against the generator's true response \
            (1 + change)^elasticity.
            """)

    @Option(help: "Replay file.") var replay: String
    @Option(help: "Product id.") var product: String?
    @Option(help: "Instead of --product: compare every product's what-if median response with the truth file's elasticities (BASE.truth.csv.gz of `streamcast simulate`).") var truth: String?
    @Option(help: "With --truth: planned price changes in percent (write --changes=-20,10 when the first is negative).") var changes = "-20,-10,10,20"
    @Option(help: "With --truth: only products whose median at the current price is at least this (small counts move in whole units).") var minMedian = 1.0
    @Option(help: "Planned price (repeatable).") var price: [Double] = []
    @Option(help: "First day of the planned price (YYYY-MM-DD or RFC 3339; default: the next period).") var from: String?
    @Option(help: "End of the planned price (exclusive; default: for good).") var to: String?
    @Option(help: "Instead of --price: prices from LOW to HIGH times the current price in STEPS steps, e.g. 0.7:1.3:13.") var curve: String?
    @OptionGroup var options: PipelineOptions

    func run() throws {
        guard (product == nil) != (truth == nil) else { throw ValidationError("give --product (one product) or --truth (every product's response)") }
        guard truth != nil || (price.allSatisfy({ $0 > 0 && $0.isFinite }) && (!price.isEmpty || curve != nil)) else {
            throw ValidationError("give one or more --price X (X > 0), or --curve LOW:HIGH:STEPS")
        }
        let window = try WhatIfRoutes.dates(from, to)
        let processor = try Self.state(after: replay, settings: try options.settings())
        let pipeline = processor.config
        if let truth { return try response(processor, truth: truth, period: pipeline.windows.period) }
        let product = product!
        let unknown = ValidationError("product \(product) has no closed period in \(replay)")
        guard let curve else {
            guard let a = processor.whatIf(product: product, plans: price.map { PricePlan(price: $0, from: window.from, to: window.to) }) else { throw unknown }
            say(a.json)
            return
        }
        let parts = curve.split(separator: ":").compactMap { Double($0) }
        guard parts.count == 3, parts[0] > 0, parts[1] > parts[0], let steps = Int(exactly: parts[2]), (2...101).contains(steps) else {
            throw ValidationError("--curve takes LOW:HIGH:STEPS, 0 < LOW < HIGH, STEPS in 2...101, e.g. 0.7:1.3:13")
        }
        let factors = (0..<steps).map { parts[0] + (parts[1] - parts[0]) * Double($0) / Double(steps - 1) }
        guard let a = processor.whatIf(product: product, plans: factors.map { PricePlan.factor($0, from: window.from, to: window.to) }) else { throw unknown }
        guard a.price > 0 else { throw ValidationError("product \(product) has no price") }
        say(String(format: "%@ at %g now: expected units and revenue over %d horizons", product, a.price, pipeline.horizons))
        for s in a.planned {
            say(String(format: "price %10.4g  units %10.4g  revenue %12.6g", s.plan!.price, s.expectedUnits, s.expectedRevenue))
        }
    }

    /// The processor after replaying a log offline: every product's state at its end.
    static func state(after replay: String, settings: Settings) throws -> StreamProcessor {
        var pipeline = settings.pipeline
        let forecaster = try makeForecaster(settings)
        pipeline.windows.length = max(pipeline.windows.length, forecaster.contextLength)
        let processor = try StreamProcessor(config: pipeline, sink: CollectingSink(), forecaster: forecaster)
        try OfflineReplay.run(path: replay, processor: processor)
        return processor
    }

    /// Every product's what-if median response per change and horizon against the truth.
    func response(_ processor: StreamProcessor, truth: String, period: Period) throws {
        let steps = changes.split(separator: ",").compactMap { Double($0.trimmingCharacters(in: .whitespaces)) }
        guard !steps.isEmpty, steps.allSatisfy({ $0 > -100 }) else { throw ValidationError("--changes must be percentages above -100") }
        let elasticity = try PriceResponseCommand.elasticities(truth, period: period)
        var model: [[Double]] = [], exact: [[Double]] = [], error: [[Double]] = []
        var counted: [[Int]] = []
        for product in elasticity.keys.sorted() {
            guard let e = elasticity[product]!.max(by: { $0.key < $1.key })?.value,
                  let now = processor.whatIf(product: product, plans: []), now.price > 0 else { continue }
            let a = processor.whatIf(product: product, plans: steps.map { PricePlan(price: now.price * (1 + $0 / 100)) })!
            let base = now.current.forecast.targets.map { Double($0.q[$0.q.count / 2]) }
            if model.isEmpty {
                (model, exact, error) = ([], [], [])
                for _ in steps { model.append(Array(repeating: 0, count: base.count)); exact.append(model.last!); error.append(model.last!) }
                counted = steps.map { _ in Array(repeating: 0, count: base.count) }
            }
            for (i, s) in a.planned.enumerated() {
                let t = pow(1 + steps[i] / 100, e) - 1
                for (h, q) in s.forecast.targets.enumerated() where base[h] >= max(minMedian, 0.05) {
                    let r = Double(q.q[q.q.count / 2]) / base[h] - 1
                    model[i][h] += r; exact[i][h] += t; error[i][h] += abs(r - t); counted[i][h] += 1
                }
            }
        }
        say("what-if median response at the end of \(replay), model \(processor.forecaster.id) (mean over products; error = model − true, in points)")
        say("change  horizon  model    true     mean |error|  products")
        for (i, step) in steps.enumerated() {
            for h in model.isEmpty ? [] : Array(model[i].indices) where counted[i][h] > 0 {
                let n = Double(counted[i][h])
                say(String(format: "%+5.0f%%  %7d  %+6.1f%%  %+6.1f%%  %6.1f  %8d", step, h + 1, 100 * model[i][h] / n, 100 * exact[i][h] / n, 100 * error[i][h] / n, counted[i][h]))
            }
        }
    }
}
