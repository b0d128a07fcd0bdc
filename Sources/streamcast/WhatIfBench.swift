import ArgumentParser
import Foundation
import Pipeline

/// Price what-ifs from live state: replay a log through the processor (as `streamcast whatif`
/// does), then time `whatIf` per product — one planned price, and a price curve — on the thread
/// that would answer it in the service (between two polls).
struct WhatIfBench: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "whatif",
                                                    abstract: "Time of a price what-if and of a price curve per product, from the state at the end of a replay.")
    @Option(help: "Replay file.") var replay = "Replays/sample-daily.jsonl.gz"
    @Option(help: "Products asked (the first N by id).") var products = 200
    @Option(help: "Prices on the curve.") var steps = 13
    @OptionGroup var options: PipelineOptions

    func run() throws {
        var options = options
        if options.model.isEmpty { options.model = ["Replays/sample-daily.safetensors"] }
        let processor = try WhatIfCommand.state(after: replay, settings: try options.settings())
        let pipeline = processor.config
        let ids = try Backtest.actuals(path: replay, period: pipeline.windows.period).keys.sorted().prefix(products)
        var one: [Double] = [], curve: [Double] = []
        for id in ids {
            guard let now = processor.whatIf(product: id, plans: []), now.price > 0 else { continue }
            one.append(time { _ = processor.whatIf(product: id, plans: [PricePlan.factor(0.85)]) })
            let plans = (0..<steps).map { PricePlan(price: now.price * (0.7 + 0.6 * Double($0) / Double(max(steps - 1, 1)))) }
            curve.append(time { _ = processor.whatIf(product: id, plans: plans) })
        }
        func summary(_ t: [Double]) -> String {
            let s = t.sorted()
            guard !s.isEmpty else { return "no products" }
            return String(format: "median %.2f ms, p99 %.2f ms, max %.2f ms", 1000 * s[s.count / 2], 1000 * s[min(s.count - 1, s.count * 99 / 100)], 1000 * s.last!)
        }
        say("what-if over \(one.count) products, model \(processor.forecaster.id), H=\(pipeline.horizons)")
        say("one planned price (+ the current): " + summary(one))
        say("price curve of \(steps) prices (+ the current): " + summary(curve))
    }
}
