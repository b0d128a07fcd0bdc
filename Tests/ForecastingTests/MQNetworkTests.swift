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
                   promoChange: c.promoLift ? (0..<(b * H)).map { Float($0 % 4 == 0 ? 1 : $0 % 4 == 1 ? -1 : 0) } : [],
                   level: c.priceElasticity ? (0..<b).map { Float($0) * 0.3 } : [])
}

@Suite struct MQNetworkTests {
    /// The whole model's backward against central differences, for every parameter tensor
    /// (sampled entries), with and without each attention block, and with the richest memory.
    /// (The third argument: the richest memory, quantile signals and past forecasts; the last: the
    /// price through the elasticity layer, with a promotion's lift beside it in the last case.)
    @Test(arguments: [(true, true, false, 0), (true, true, true, 0), (true, false, false, 0),
                      (false, false, false, 0), (true, true, false, 1), (true, true, false, 2)])
    func wholeModelGradientCheck(_ encoderAttention: Bool, _ feedback: Bool, _ richMemory: Bool, _ price: Int) {
        var c = tinyConfig()
        c.priceElasticity = price > 0
        c.promoLift = price > 1
        c.useEncoderAttention = encoderAttention
        c.useFeedback = feedback
        c.memoryQuantiles = richMemory
        c.memoryForecasts = richMemory
        let net = MQNetwork(c, seed: 42)
        let ws = net.workspace()
        let batch = randomBatch(c, size: 3, seed: 7)
        var rng = Initializer(seed: 9)
        let rf = randomMatrix(3 * c.horizons, 3, &rng), rb = randomMatrix(3 * c.horizons, 3, &rng)
        func loss() -> Double {
            let (f, b) = net.forward(batch, ws)
            return zip(f.data, rf.data).reduce(0) { $0 + Double($1.0 * $1.1) } + zip(b.data, rb.data).reduce(0) { $0 + Double($1.0 * $1.1) }
        }
        _ = net.forward(batch, ws)
        net.backward(final: rf, base: rb, ws)
        let gradients = ws.takeGradients()
        #expect(gradients.count == net.parameters.count)
        var checked = 0, bad = 0, kinks = 0
        let eps: Float = 1e-3
        let atO = loss()
        for (p, analytic) in zip(net.parameters, gradients) {
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

    /// One network, a workspace per thread: passes run at once on two threads give the same
    /// outputs and the same gradients as one after the other on one workspace.
    @Test func workspacesShareOneNetwork() {
        let c = tinyConfig()
        let net = MQNetwork(c, seed: 42)
        let batches = [randomBatch(c, size: 3, seed: 11), randomBatch(c, size: 4, seed: 12)]
        var rng = Initializer(seed: 13)
        let dy = batches.map { randomMatrix($0.size * c.horizons, 3, &rng) }
        let one = net.workspace()
        let sequential = batches.indices.map { i -> (Matrix, [Matrix]) in
            let out = net.forward(batches[i], one).final
            net.backward(final: dy[i], base: dy[i], one)
            return (out, one.takeGradients())
        }
        // Each thread touches only its own workspace and slot; the network is only read.
        final class Slot { var value: (Matrix, [Matrix])? }
        nonisolated(unsafe) let shared = (net: net, batches: batches, workspaces: [net.workspace(), net.workspace()], slots: [Slot(), Slot()])
        DispatchQueue.concurrentPerform(iterations: 2) { i in
            let out = shared.net.forward(shared.batches[i], shared.workspaces[i]).final
            shared.net.backward(final: dy[i], base: dy[i], shared.workspaces[i])
            shared.slots[i].value = (out, shared.workspaces[i].takeGradients())
        }
        for i in 0..<2 {
            #expect(shared.slots[i].value!.0 == sequential[i].0)
            #expect(shared.slots[i].value!.1 == sequential[i].1)
        }
        #expect(sequential[0].1.contains { $0.data.contains { $0 != 0 } }, "a backward leaves gradients")
        #expect(one.takeGradients().allSatisfy { $0.data.allSatisfy { $0 == 0 } }, "taking them leaves zeros")
    }

    @Test func quantilesAreOrderedAndNonNegative() {
        let c = tinyConfig()
        let net = MQNetwork(c, seed: 42)
        let (f, b) = net.forward(randomBatch(c, size: 5, seed: 2), net.workspace())
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
        let (f, b) = net.forward(randomBatch(c, size: 2, seed: 4), net.workspace())
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
            return net.forward(batch, net.workspace()).final
        }
        let same = quantiles(0), rise = quantiles(0.2), cut = quantiles(-0.2)
        for i in same.data.indices {
            #expect(rise.data[i] <= same.data[i] && cut.data[i] >= same.data[i])
            if same.data[i] > 1e-3 { #expect(rise.data[i] < same.data[i]) }
        }
    }
}
