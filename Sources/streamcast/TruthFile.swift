import Events
import Foundation
import Pipeline
import ArgumentParser

/// The simulator's truth file (BASE.truth.csv.gz: `product,start,mean,shape,units,q…,elasticity`),
/// read once: per product and period index, the true quantiles at the configured levels and the
/// negative binomial's mean and shape.
struct TruthFile {
    var quantiles: [String: [Int64: [Float]]] = [:]
    var distributions: [String: [Int64: (mean: Double, shape: Double)]] = [:]

    init(path: String, config: PipelineConfig) throws {
        let period = config.windows.period
        var columns: (quantiles: [Int], mean: Int, shape: Int)?
        var missing: Double?
        try ReplayReader(path: path).forEachLine { raw, _ in
            let fields = String(decoding: raw, as: UTF8.self).split(separator: ",").map(String.init)
            guard let c = columns else {
                let q = config.quantiles.map { fields.firstIndex(of: "q\($0)") ?? -1 }
                missing = zip(config.quantiles, q).first { $0.1 < 0 }?.0
                columns = (q, fields.firstIndex(of: "mean") ?? -1, fields.firstIndex(of: "shape") ?? -1)
                return
            }
            guard missing == nil, fields.count > max(c.mean, c.shape, 1), let start = Timestamp.parse(fields[1]) else { return }
            let t = period.index(of: start)
            quantiles[fields[0], default: [:]][t] = c.quantiles.map { Float(fields[$0]) ?? 0 }
            if c.mean >= 0, c.shape >= 0, let mean = Double(fields[c.mean]), let shape = Double(fields[c.shape]) {
                distributions[fields[0], default: [:]][t] = (mean, shape)
            }
        }
        if let q = missing {
            throw ValidationError("\(path) has no q\(q) column: the oracle is scored on the truth's quantiles (simulate writes 0.1, 0.5, 0.9); leave --truth out or use those quantiles")
        }
    }
}
