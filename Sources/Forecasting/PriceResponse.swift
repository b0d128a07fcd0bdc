import NeuralNet

/// How a trained network's median answers a planned price change: at an FCT, the known-future
/// prices of every horizon are replaced by the price in force at the FCT times a factor (no
/// promotion), everything else as the product's history has it, the error memory included.
/// Compared per horizon with the forecast at the unchanged price, this is the model's price
/// response, what a price what-if would serve.
extension MQTrainer {
    /// Per series: the H final medians (units) at FCT `fcts[i]` with the planned price factor
    /// (nil: the prices as they were).
    public func plannedPriceMedians(_ series: [ProductSeries], fcts: [Int], factor: Float?) -> [[Float]] {
        let pairs = series.indices.map { ($0, fcts[$0]) }
        refreshBaseForecasts(remembered(pairs), series: series)
        let c = network.config, H = c.horizons, median = network.head.median
        var out: [[Float]] = []
        for from in stride(from: 0, to: pairs.count, by: 512) {
            let (x, scales) = plannedBatch(series, pairs[from..<min(from + 512, pairs.count)], factor: factor)
            let (final, _) = network.forward(x, workspaces[0])
            for e in 0..<x.size {
                out.append((0..<H).map { k in max(0, final[e * H + k, median] * scales[e]) })
            }
        }
        return out
    }

    /// The same for a model's trees: their medians (units) at the planned price.
    public func plannedPriceTreeMedians(_ trees: TreeMember, _ series: [ProductSeries], fcts: [Int], factor: Float?) throws -> [[Float]] {
        let pairs = series.indices.map { ($0, fcts[$0]) }
        let c = network.config, H = c.horizons, median = network.head.median
        var out: [[Float]] = []
        for from in stride(from: 0, to: pairs.count, by: 512) {
            let (x, scales) = plannedBatch(series, pairs[from..<min(from + 512, pairs.count)], factor: factor)
            let values = try trees.forecast(x, scales: scales, factors: TreeMember.priceFactors(network, x, workspaces[0]), config: c)
            for e in 0..<x.size { out.append((0..<H).map { k in values[e * H + k][median] }) }
        }
        return out
    }

    /// The inputs of (series, FCT) pairs with every target's price the FCT's times `factor`, no promotion.
    func plannedBatch(_ series: [ProductSeries], _ pairs: ArraySlice<(Int, Int)>, factor: Float?) -> (MQBatch, scales: [Float]) {
        let H = network.config.horizons
        return features.batch(pairs.map { pair -> (series: ProductSeries, t: Int, futurePrices: [(Float, Float)]?, memory: [[Float]]?) in
            var input = example(pair.0, series[pair.0], t: pair.1).input
            if let factor {
                let s = series[pair.0], t = pair.1
                let now = t < s.price.count ? s.price[t] : 0
                input.futurePrices = Array(repeating: (now * factor, 0), count: H)
            }
            return input
        })
    }
}
