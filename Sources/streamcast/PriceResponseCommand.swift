import ArgumentParser
import Events
import Forecasting
import Foundation
import Pipeline
import Windows

/// `streamcast price-response`: how a model's median answers a planned price change, against the
/// simulator's true response (each product's elasticity is in the truth file).
struct PriceResponseCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "price-response",
        abstract: "Compare a model's median response to planned price changes with the simulator's true response.",
        discussion: """
            At the first test FCT (the one `train --test-fcts K` left out first) every product's \
            known-future price is set to its price then times (1 + change), without promotion, for \
            every horizon; the model's response is its median against the median at the unchanged \
            price. The true response is (1 + change)^elasticity, the elasticity from the truth file \
            of `streamcast simulate`.
            """)

    @Option(help: "Replay file the model is evaluated on.") var replay: String
    @Option(help: "Model file (from `streamcast train`).") var model: String
    @Option(help: "Truth file of the same log (BASE.truth.csv.gz from `streamcast simulate`).") var truth: String
    @Option(help: "Planned price changes in percent, comma-separated (write --changes=-20,10 when the first is negative).") var changes = "-20,-10,10,20"
    @Option(help: "Test FCTs left out in training: the response is read at the first of them.") var testFcts = 8
    @Option(help: "Only products whose median at the unchanged price is at least this (units per period): for small counts a median moves in whole units, not by the elasticity.") var minMedian: Float = 1
    @Option(help: "Cores to run the network on.") var threads = 2

    func run() throws {
        let steps = changes.split(separator: ",").compactMap { Double($0.trimmingCharacters(in: .whitespaces)) }
        guard !steps.isEmpty, steps.allSatisfy({ $0 > -100 }) else { throw ValidationError("--changes must be percentages above -100, e.g. -20,-10,10,20") }
        let m = try MQModel.load(from: model)
        let c = m.network.config, H = c.horizons
        let all = try SeriesBuilder.build(path: replay, period: m.period, categories: c.categories)
        let elasticity = try Self.elasticities(truth, period: m.period)
        let last = all.map { $0.firstPeriod + Int64($0.units.count) }.max() ?? 0
        let fct = last - Int64(H) - Int64(testFcts)
        // Products with a price at the FCT and a true elasticity for the first target.
        let series = all.filter { s in
            let t = Int(fct - s.firstPeriod)
            return t >= 0 && t < s.price.count && s.price[t] > 0 && elasticity[s.product]?[fct + 1] != nil
        }
        guard !series.isEmpty else { throw ValidationError("no product has a price at the FCT and a truth row after it") }
        let fcts = series.map { Int(fct - $0.firstPeriod) }
        // The model's median is the mean of its networks' medians, mixed with its trees' if it has
        // them (the blend and rounding are left out).
        let features = FeatureBuilder(config: c, period: m.period, holidays: m.holidays, events: m.events)
        let trainers = m.networks.map { MQTrainer(network: $0, features: features, learningRate: 0, threads: threads) }
        func medians(_ factor: Float) throws -> [[Float]] {
            let all = trainers.map { $0.plannedPriceMedians(series, fcts: fcts, factor: factor) }
            let trees = try m.trees.map { try trainers[0].plannedPriceTreeMedians($0, series, fcts: fcts, factor: factor) }
            return series.indices.map { i in (0..<H).map { k in
                let networks = all.reduce(0) { $0 + $1[i][k] } / Float(all.count)
                return trees.map { m.trees!.apply(networks, $0[i][k], column: c.quantiles.firstIndex(of: 0.5)!) } ?? networks
            } }
        }
        let base = try medians(1)
        say("price response of \(m.id) at FCT \(Timestamp.format(m.period.start(of: fct)).prefix(10)), \(series.count) products priced at it (mean over products; error = model − true, in points)")
        say("change  horizon  model    true     mean |error|  products")
        for step in steps {
            let f = 1 + step / 100
            let changed = try medians(Float(f))
            for k in 0..<H {
                var model = 0.0, truth = 0.0, error = 0.0, n = 0.0
                for (i, s) in series.enumerated() where base[i][k] >= max(minMedian, 0.05) {
                    let e = elasticity[s.product]?[fct + 1 + Int64(k)] ?? elasticity[s.product]![fct + 1]!
                    let r = Double(changed[i][k] / base[i][k]) - 1, t = pow(f, e) - 1
                    model += r; truth += t; error += abs(r - t); n += 1
                }
                guard n > 0 else { continue }
                say(String(format: "%+5.0f%%  %7d  %+6.1f%%  %+6.1f%%  %6.1f  %8.0f", step, k + 1, 100 * model / n, 100 * truth / n, 100 * error / n, n))
            }
        }
    }

    /// product → period index → elasticity, from the truth file's `elasticity` column.
    static func elasticities(_ path: String, period: Period) throws -> [String: [Int64: Double]] {
        var header: [String]?, column = -1
        var out: [String: [Int64: Double]] = [:]
        try ReplayReader(path: path).forEachLine { raw, _ in
            let fields = String(decoding: raw, as: UTF8.self).split(separator: ",").map(String.init)
            guard let h = header else {
                header = fields
                column = fields.firstIndex(of: "elasticity") ?? -1
                return
            }
            guard column >= 0, fields.count == h.count, let start = Timestamp.parse(fields[1]), let e = Double(fields[column]) else { return }
            out[fields[0], default: [:]][period.index(of: start)] = e
        }
        guard column >= 0 else { throw ValidationError("\(path) has no elasticity column (written by `streamcast simulate`)") }
        return out
    }
}
