import Foundation
import Testing
@testable import NeuralNet

/// Finite-difference gradient checks: every layer's backward against central differences of its
/// forward, for its input(s) and every parameter, through a random projection loss L = Σ R ⊙ y.
final class Box { var m: Matrix; init(_ m: Matrix) { self.m = m } }

func random(_ rows: Int, _ cols: Int, seed: UInt64, awayFromZero: Bool = false) -> Matrix {
    var rng = Initializer(seed: seed)
    return Matrix(rows: rows, cols: cols, data: (0..<(rows * cols)).map { _ in
        let v = rng.uniform(1)
        return awayFromZero ? (v < 0 ? v - 0.1 : v + 0.1) : v
    })
}

/// Compares analytic gradients with numeric ones; returns the worst relative error. `backward`
/// returns the inputs' gradients and the parameters' (from the layer's workspace, in
/// `parameters` order).
@discardableResult
func gradientCheck(inputs: [Box], parameters: [Parameter], projection: Matrix, forward: () -> Matrix,
                   backward: (Matrix) -> (inputs: [Matrix], parameters: [Matrix]), eps: Float = 1e-2, tolerance: Float = 2e-3,
                   sourceLocation: SourceLocation = #_sourceLocation) -> Float {
    func loss() -> Double {
        let y = forward()
        return zip(y.data, projection.data).reduce(0) { $0 + Double($1.0) * Double($1.1) }
    }
    _ = forward()
    let (inputGrads, parameterGrads) = backward(projection)
    #expect(parameterGrads.count == parameters.count, sourceLocation: sourceLocation)
    var worst: Float = 0
    func compare(_ analytic: Float, _ numeric: Double, _ what: String) {
        let err = abs(analytic - Float(numeric)) / max(1, abs(analytic), Float(abs(numeric)))
        worst = max(worst, err)
        #expect(err < tolerance, "\(what): analytic \(analytic) vs numeric \(numeric)", sourceLocation: sourceLocation)
    }
    for (k, box) in inputs.enumerated() {
        for i in stride(from: 0, to: box.m.count, by: max(1, box.m.count / 40)) {
            let original = box.m.data[i]
            box.m.data[i] = original + eps; let plus = loss()
            box.m.data[i] = original - eps; let minus = loss()
            box.m.data[i] = original
            compare(inputGrads[k].data[i], (plus - minus) / Double(2 * eps), "input \(k)[\(i)]")
        }
    }
    for (p, analytic) in zip(parameters, parameterGrads) {
        for i in stride(from: 0, to: p.value.count, by: max(1, p.value.count / 40)) {
            let original = p.value.data[i]
            p.value.data[i] = original + eps; let plus = loss()
            p.value.data[i] = original - eps; let minus = loss()
            p.value.data[i] = original
            compare(analytic.data[i], (plus - minus) / Double(2 * eps), "\(p.name)[\(i)]")
        }
    }
    return worst
}

@Suite struct GradientCheckTests {
    @Test func gemmMatchesANaiveProduct() {
        let a = random(5, 7, seed: 1), b = random(7, 3, seed: 2)
        let c = matmul(a, b)
        for i in 0..<5 { for j in 0..<3 {
            var s: Float = 0
            for k in 0..<7 { s += a[i, k] * b[k, j] }
            #expect(abs(c[i, j] - s) < 1e-5)
        } }
        let ct = matmul(b, transposeA: true, a, transposeB: true)  // (aᵀ... ) = (a·b)ᵀ
        for i in 0..<5 { for j in 0..<3 { #expect(abs(ct[j, i] - c[i, j]) < 1e-5) } }
    }

    @Test func dense() {
        var rng = Initializer(seed: 3)
        let layer = Dense(6, 4, init: &rng)
        let x = Box(random(5, 6, seed: 4))
        var ws = layer.workspace()
        gradientCheck(inputs: [x], parameters: layer.parameters, projection: random(5, 4, seed: 5),
                      forward: { layer.forward(x.m, &ws) }, backward: { ([layer.backward($0, &ws)], ws.gradients) })
    }

    @Test func activations() {
        let x = Box(random(4, 6, seed: 6, awayFromZero: true))
        let relu = ReLU(), gelu = GELU(), softplus = Softplus()
        let r = random(4, 6, seed: 7)
        var ws = ActivationWorkspace()
        gradientCheck(inputs: [x], parameters: [], projection: r, forward: { relu.forward(x.m, &ws) }, backward: { ([relu.backward($0, ws)], []) })
        gradientCheck(inputs: [x], parameters: [], projection: r, forward: { gelu.forward(x.m, &ws) }, backward: { ([gelu.backward($0, ws)], []) })
        gradientCheck(inputs: [x], parameters: [], projection: r, forward: { softplus.forward(x.m, &ws) }, backward: { ([softplus.backward($0, ws)], []) })
    }

    /// The layout ops: a concat's backward is a split, a gather's a scatter that adds (row 1 is
    /// picked twice and gets both gradients, row 2 never and gets none), a reshape's the reshape back.
    @Test func layoutOps() {
        let a = Box(random(3, 2, seed: 50)), b = Box(random(4, 3, seed: 51))
        let picks = [1, 0, 1, 0]
        gradientCheck(inputs: [a, b], parameters: [], projection: random(8, 5, seed: 52),
                      forward: { concatRows([concatColumns([gatherRows(a.m, picks), b.m]), concatColumns([gatherRows(a.m, [2, 1, 0, 1]), b.m])]) },
                      backward: { dy in
                          var da = Matrix(rows: 3, cols: 2), db = Matrix(rows: 4, cols: 3)
                          for (half, rows) in zip(splitRows(dy, [4, 4]), [picks, [2, 1, 0, 1]]) {
                              let parts = splitColumns(half, [2, 3])
                              scatterAddRows(parts[0], rows, into: &da)
                              db += parts[1]
                          }
                          return ([da, db], [])
                      })
        let m = random(6, 2, seed: 53)
        #expect(m.reshaped(rows: 2, cols: 6).reshaped(rows: 6, cols: 2) == m)
        #expect(m.reshaped(rows: 2, cols: 6)[1, 2] == m[4, 0], "row-major: example 1's second row sits at columns 2…3")
        #expect(RowIndex.perExample(2, each: 3, stride: 5, offset: 4) == [4, 4, 4, 9, 9, 9])
    }

    @Test func embedding() {
        var rng = Initializer(seed: 11)
        let layer = Embedding(5, 3, init: &rng)
        let ids = [0, 3, 3, 4, 9]  // 9 → the last ("unknown") row
        var ws = layer.workspace()
        gradientCheck(inputs: [], parameters: layer.parameters, projection: random(5, 3, seed: 12),
                      forward: { layer.forward(ids, &ws) }, backward: { layer.backward($0, &ws); return ([], ws.gradients) })
    }

    @Test func dilatedCausalConvolution() {
        var rng = Initializer(seed: 13)
        let layer = CausalConv1d(3, 4, kernel: 2, dilation: 2, init: &rng)
        let x = Box(random(2 * 7, 3, seed: 14))
        var ws = layer.workspace()
        gradientCheck(inputs: [x], parameters: layer.parameters, projection: random(14, 4, seed: 15),
                      forward: { layer.forward(x.m, batch: 2, steps: 7, &ws) }, backward: { ([layer.backward($0, &ws)], ws.gradients) })
        // Causality: changing step 5 changes no output before step 5.
        let before = layer.forward(x.m, batch: 2, steps: 7, &ws)
        var changed = x.m
        for c in 0..<3 { changed[5, c] += 1 }
        let after = layer.forward(changed, batch: 2, steps: 7, &ws)
        for t in 0..<5 { for c in 0..<4 { #expect(before[t, c] == after[t, c]) } }
        #expect((0..<4).contains { before[5, $0] != after[5, $0] })
    }

    @Test func maskedMultiHeadAttention() {
        var rng = Initializer(seed: 16)
        let layer = MultiHeadAttention(queryInputs: 5, keyInputs: 6, valueInputs: 4, outputs: 3, heads: 2, headDim: 3, init: &rng)
        let q = Box(random(2 * 3, 5, seed: 17)), k = Box(random(2 * 4, 6, seed: 18)), v = Box(random(2 * 4, 4, seed: 19))
        // Causal-style mask for batch 0; batch 1 hides everything from its first query.
        let mask: [[Bool]] = [
            (0..<12).map { ($0 % 4) <= $0 / 4 + 1 },
            (0..<12).map { $0 >= 4 },
        ]
        var ws = layer.workspace()
        gradientCheck(inputs: [q, k, v], parameters: layer.parameters, projection: random(6, 3, seed: 20),
                      forward: { layer.forward(query: q.m, key: k.m, value: v.m, batch: 2, mask: mask, &ws) },
                      backward: { let g = layer.backward($0, &ws); return ([g.query, g.key, g.value], ws.gradients) })
        // A hidden key does not influence the output.
        let base = layer.forward(query: q.m, key: k.m, value: v.m, batch: 2, mask: mask, &ws)
        var v2 = v.m
        for c in 0..<4 { v2[3, c] += 5 }  // batch 0, key 3: hidden from query 0 (keys 0...1 allowed)
        let moved = layer.forward(query: q.m, key: k.m, value: v2, batch: 2, mask: mask, &ws)
        for c in 0..<3 { #expect(abs(base[0, c] - moved[0, c]) < 1e-6) }
    }

    @Test func pinballLoss() {
        let quantiles: [Float] = [0.1, 0.5, 0.9]
        let targets: [Float] = [1, 5, -2, 0.3]
        let weights: [Float] = [1, 1, 0, 2]
        let predictions = Box(random(4, 3, seed: 21))
        func loss() -> Double { Double(PinballLoss.evaluate(predictions.m, targets: targets, quantiles: quantiles, weights: weights, normalizer: 3).loss) }
        let analytic = PinballLoss.evaluate(predictions.m, targets: targets, quantiles: quantiles, weights: weights, normalizer: 3).gradient
        for i in 0..<12 {
            let o = predictions.m.data[i]
            predictions.m.data[i] = o + 1e-3; let plus = loss()
            predictions.m.data[i] = o - 1e-3; let minus = loss()
            predictions.m.data[i] = o
            #expect(abs(Double(analytic.data[i]) - (plus - minus) / 2e-3) < 1e-2)
        }
        // ρ_q: under-forecasting costs q per unit, over-forecasting 1 − q.
        let one = PinballLoss.evaluate(Matrix(rows: 1, cols: 1, data: [0]), targets: [10], quantiles: [0.9]).loss
        #expect(abs(one - 9) < 1e-5)
    }

    @Test func stabilityPenaltyGradientAndDeadBand() {
        let anchors: [Float] = [0.4, .nan, 2, -1]
        let weights: [Float] = [1, 1, 0, 2]
        let predictions = Box(random(4, 3, seed: 23))
        func penalty() -> (Double, Matrix) {
            var g = Matrix(rows: 4, cols: 3)
            let l = StabilityPenalty.evaluate(predictions.m, column: 1, anchors: anchors, weight: 0.3, weights: weights, normalizer: 3, into: &g)
            return (Double(l), g)
        }
        let analytic = penalty().1
        for i in 0..<12 {
            let o = predictions.m.data[i]
            predictions.m.data[i] = o + 1e-3; let plus = penalty().0
            predictions.m.data[i] = o - 1e-3; let minus = penalty().0
            predictions.m.data[i] = o
            #expect(abs(Double(analytic.data[i]) - (plus - minus) / 2e-3) < 1e-2)
        }
        // Only the median column of rows with an anchor and a weight: rows 0 and 3.
        #expect((0..<4).filter { r in analytic[r, 1] != 0 } == [0, 3] && analytic[0, 0] == 0 && analytic[3, 2] == 0)
        // The dead band: pinball(0.5) + λ·|ŷ − a| over outcomes 1…10 is lowest at the anchor while
        // the anchor lies between the (0.5 − λ) and (0.5 + λ) quantiles, else at the band's edge.
        func best(anchor: Float, lambda: Float) -> Float {
            let ys = (1...10).map(Float.init), grid = stride(from: Float(0), through: 11, by: 0.25).map { $0 }
            return grid.min { a, b in
                func cost(_ f: Float) -> Float {
                    var g = Matrix(rows: 1, cols: 1)
                    let pinball = ys.reduce(Float(0)) { $0 + PinballLoss.rho(0.5, $1 - f) } / 10
                    return pinball + StabilityPenalty.evaluate(Matrix(rows: 1, cols: 1, data: [f]), column: 0, anchors: [anchor], weight: lambda,
                                                               weights: [1], into: &g)
                }
                return cost(a) < cost(b)
            }!
        }
        #expect(best(anchor: 4.25, lambda: 0.25) == 4.25)  // within the 0.25–0.75 quantiles: stays
        #expect(best(anchor: 9.5, lambda: 0.25) == 8)      // above the band: moves to its edge (F = 0.75 between 7 and 8), not to the median
        #expect((5...6).contains(best(anchor: 9.5, lambda: 0)))  // no penalty: the median
    }

    @Test func adamFitsALinearQuantileModel() {
        // y = 3x + 1 + noise; a Dense layer trained on pinball loss finds the median line.
        var rng = Initializer(seed: 22)
        let layer = Dense(1, 1, init: &rng)
        let adam = Adam(learningRate: 0.05)
        let xs = (0..<64).map { Float($0) / 32 - 1 }
        let ys = xs.map { 3 * $0 + 1 + rng.uniform(0.2) }
        var ws = layer.workspace()
        for _ in 0..<600 {
            let out = layer.forward(Matrix(rows: 64, cols: 1, data: xs), &ws)
            let (_, grad) = PinballLoss.evaluate(out, targets: ys, quantiles: [0.5], normalizer: 64)
            _ = layer.backward(grad, &ws)
            Parameter.accumulate([ws.gradients], into: layer.parameters)
            ws.zeroGradients()
            adam.update(layer.parameters)
        }
        #expect(abs(layer.weight.value.data[0] - 3) < 0.15 && abs(layer.bias.value.data[0] - 1) < 0.1)
    }
}

@Suite struct QuantileHeadTests {
    @Test func orderedNonNegativeAndGradientChecked() {
        let head = QuantileHead(levels: [0.1, 0.25, 0.5, 0.75, 0.9])
        let z = Box(random(6, 5, seed: 30))
        for r in 0..<6 { for c in 0..<5 { z.m[r, c] *= 4 } }
        var ws = QuantileHead.Workspace()
        let y = head.forward(z.m, &ws)
        for r in 0..<6 {
            for c in 0..<5 { #expect(y[r, c] >= 0) }
            for c in 1..<5 { #expect(y[r, c] >= y[r, c - 1]) }
        }
        gradientCheck(inputs: [z], parameters: [], projection: random(6, 5, seed: 31),
                      forward: { head.forward(z.m, &ws) }, backward: { ([head.backward($0, ws)], []) }, eps: 1e-2)
    }

    /// The price response: gradients for the quantiles and the elasticity's raw value, and the
    /// response itself is f^β (a 20 % cut at β = −2 gives 0.8^−2 = 1.5625×).
    @Test func priceElasticity() {
        let layer = PriceElasticity()
        let q = Box(random(5, 3, seed: 40)), a = Box(random(5, 1, seed: 41))
        let change: [Float] = [0.2, -0.3, 0, 0.05, -1]
        var ws = PriceElasticity.Workspace()
        gradientCheck(inputs: [q, a], parameters: [], projection: random(5, 3, seed: 42),
                      forward: { layer.forward(q.m, a: a.m.data, logChange: change, &ws) },
                      backward: { let (dq, da, _) = layer.backward($0, ws); return ([dq, Matrix(rows: 5, cols: 1, data: da)], []) })
        let raw = log(exp(Float(2)) - 1)  // softplus⁻¹(2): β = −2
        let y = layer.forward(Matrix(rows: 1, cols: 2, data: [10, 20]), a: [raw], logChange: [log(0.8)], &ws)
        #expect(abs(PriceElasticity.beta(raw) + 2) < 1e-5)
        #expect(abs(y[0, 0] - 15.625) < 1e-3 && abs(y[0, 1] - 31.25) < 2e-3)
    }

    /// With a promotion's own lift: gradients for the quantiles, a and g, rows where only the
    /// price, only the promotion or both change; a promotion starting with a 20 % cut at β = −2
    /// and γ = log 1.25 gives 1.5625 · 1.25×, one ending divides by the lift.
    @Test func priceElasticityWithPromotionLift() {
        let layer = PriceElasticity()
        let q = Box(random(6, 3, seed: 43)), a = Box(random(6, 1, seed: 44)), g = Box(random(6, 1, seed: 45))
        let change: [Float] = [0.2, -0.3, 0, 0.05, -1, 0]
        let promo: [Float] = [0, 1, 1, -1, 1, 0]
        var ws = PriceElasticity.Workspace()
        gradientCheck(inputs: [q, a, g], parameters: [], projection: random(6, 3, seed: 46),
                      forward: { layer.forward(q.m, a: a.m.data, logChange: change, g: g.m.data, promoChange: promo, &ws) },
                      backward: { let (dq, da, dg) = layer.backward($0, ws)
                                  return ([dq, Matrix(rows: 6, cols: 1, data: da), Matrix(rows: 6, cols: 1, data: dg)], []) })
        let raw = log(exp(Float(2)) - 1), rawLift = log(exp(log(Float(1.25))) - 1)
        let y = layer.forward(Matrix(rows: 2, cols: 1, data: [10, 10]), a: [raw, raw], logChange: [log(0.8), 0],
                              g: [rawLift, rawLift], promoChange: [1, -1], &ws)
        #expect(abs(y[0, 0] - 15.625 * 1.25) < 2e-3)
        #expect(abs(y[1, 0] - 8) < 1e-3)
    }
}
