import Forecasting
import Foundation
import NeuralNet
import Testing

func randomMatrix(_ rows: Int, _ cols: Int, _ rng: inout Initializer, scale: Float = 1) -> Matrix {
    Matrix(rows: rows, cols: cols, data: (0..<(rows * cols)).map { _ in rng.uniform(scale) })
}

func tinyConfig() -> MQConfig {
    var c = MQConfig()
    c.context = 6; c.horizons = 2; c.pastFeatures = 3; c.calendarFeatures = 2; c.futureFeatures = 2
    c.categories = 3; c.embedding = 2; c.channels = 4; c.dilations = [1, 2]; c.positional = 3
    c.decoder = 4; c.heads = 2; c.memory = 2
    return c
}

func randomBatch(_ c: MQConfig, size b: Int, seed: UInt64) -> MQBatch {
    var rng = Initializer(seed: seed)
    let H = c.horizons, R = c.memory
    return MQBatch(size: b, past: randomMatrix(b * c.context, c.pastFeatures, &rng),
                   contextCalendar: randomMatrix(b * c.context, c.calendarFeatures, &rng),
                   targetCalendar: randomMatrix(b * H, c.calendarFeatures, &rng),
                   future: randomMatrix(b * H, c.futureFeatures, &rng), categories: (0..<b).map { $0 % (c.categories + 2) },
                   memory: randomMatrix(b * R, c.memoryWidth, &rng),
                   memoryMask: (0..<b).map { e in (0..<(H * R)).map { ($0 + e) % 3 != 0 } },
                   priceChange: c.priceElasticity ? (0..<(b * H)).map { Float($0 % 3) * 0.2 - 0.2 } : [],
                   level: c.priceElasticity ? (0..<b).map { Float($0) * 0.3 } : [])
}

@Suite struct MQNetworkTests {
    /// The whole model's backward against central differences, for every parameter tensor
    /// (sampled entries), with and without each attention block, and with the richest memory.
    /// (The third argument: the richest memory, quantile signals and past forecasts; the last: the
    /// price through the elasticity layer.)
    @Test(arguments: [(true, true, false, false), (true, true, true, false), (true, false, false, false),
                      (false, false, false, false), (true, true, false, true)])
    func wholeModelGradientCheck(_ encoderAttention: Bool, _ feedback: Bool, _ richMemory: Bool, _ elasticity: Bool) {
        var c = tinyConfig()
        c.priceElasticity = elasticity
        c.useEncoderAttention = encoderAttention
        c.useFeedback = feedback
        c.memoryQuantiles = richMemory
        c.memoryForecasts = richMemory
        let net = MQNetwork(c, seed: 42)
        let batch = randomBatch(c, size: 3, seed: 7)
        var rng = Initializer(seed: 9)
        let rf = randomMatrix(3 * c.horizons, 3, &rng), rb = randomMatrix(3 * c.horizons, 3, &rng)
        func loss() -> Double {
            let (f, b) = net.forward(batch)
            return zip(f.data, rf.data).reduce(0) { $0 + Double($1.0 * $1.1) } + zip(b.data, rb.data).reduce(0) { $0 + Double($1.0 * $1.1) }
        }
        for p in net.parameters { p.zeroGrad() }
        _ = net.forward(batch)
        net.backward(final: rf, base: rb)
        var checked = 0, bad = 0, kinks = 0
        let eps: Float = 1e-3
        let atO = loss()
        for p in net.parameters {
            let analytic = p.grad
            for i in stride(from: 0, to: p.value.count, by: max(1, p.value.count / 6)) {
                let o = p.value.data[i]
                p.value.data[i] = o + eps; let plus = loss()
                p.value.data[i] = o - eps; let minus = loss()
                p.value.data[i] = o
                // A bias shared by many rows can push some ReLU across its kink within ±eps; there the
                // one-sided slopes disagree and no derivative exists to compare with: skip (few, counted).
                let right = (plus - atO) / Double(eps), left = (atO - minus) / Double(eps)
                if abs(right - left) > 0.05 * max(1, abs(right), abs(left)) { kinks += 1; continue }
                let numeric = (plus - minus) / Double(2 * eps)
                let err = abs(Double(analytic.data[i]) - numeric) / max(1, abs(numeric), Double(abs(analytic.data[i])))
                checked += 1
                if err > 3e-2 { bad += 1; Issue.record("\(p.name)[\(i)]: analytic \(analytic.data[i]) numeric \(numeric)") }
            }
        }
        #expect(checked > 80 && bad == 0 && kinks * 10 < checked, "checked \(checked), kinks skipped \(kinks)")
    }

    @Test func quantilesAreOrderedAndNonNegative() {
        let c = tinyConfig()
        let net = MQNetwork(c, seed: 42)
        let (f, b) = net.forward(randomBatch(c, size: 5, seed: 2))
        for m in [f, b] {
            for r in 0..<m.rows {
                #expect(m[r, 0] >= 0)
                #expect(m[r, 0] <= m[r, 1] && m[r, 1] <= m[r, 2])
            }
        }
    }

    @Test func feedbackOffMeansFinalEqualsBase() {
        var c = tinyConfig()
        c.useFeedback = false
        let net = MQNetwork(c, seed: 42)
        let (f, b) = net.forward(randomBatch(c, size: 2, seed: 4))
        #expect(f == b)
    }

    /// With the elasticity, a planned price rise never raises a quantile and a cut never lowers one.
    @Test func priceElasticityIsMonotone() {
        var c = tinyConfig()
        c.priceElasticity = true
        let net = MQNetwork(c, seed: 42)
        var batch = randomBatch(c, size: 4, seed: 3)
        func quantiles(_ change: Float) -> Matrix {
            batch.priceChange = Array(repeating: change, count: 4 * c.horizons)
            return net.forward(batch).final
        }
        let same = quantiles(0), rise = quantiles(0.2), cut = quantiles(-0.2)
        for i in same.data.indices {
            #expect(rise.data[i] <= same.data[i] && cut.data[i] >= same.data[i])
            if same.data[i] > 1e-3 { #expect(rise.data[i] < same.data[i]) }
        }
    }
}
