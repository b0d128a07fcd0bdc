import NeuralNet

/// Sizes of the feedback-aware multi-horizon quantile network (model.md, "Architecture").
public struct MQConfig: Sendable, Equatable, Codable {
    public var context = 32            // L
    public var horizons = 4            // H
    public var quantiles: [Double] = [0.1, 0.5, 0.9]
    public var pastFeatures = 6        // per context step: y/s, log1p(v/s), log price ratio, promo, holiday, age [, log1p(s)/10: train --level-input]
    public var calendarFeatures = 4    // per step, known ahead (e.g. day-of-week / month sin-cos)
    /// Of `futureFeatures`, how many (the last ones) are per-event flags (`EventCalendar`): for each
    /// named calendar event, whether the target period holds it and whether it falls in the week
    /// after. 0 for models trained without a calendar (and for model files written before).
    public var eventFeatures = 0
    public var futureFeatures = 4      // per target step: log price ratio, promo, holiday, y one season back / s [, whether that exists: train --season-flag]
    public var categories = 64
    public var embedding = 4
    public var channels = 16           // C
    public var dilations = [1, 2, 4, 8]
    public var positional = 8          // d_r
    public var decoder = 16            // d
    public var heads = 2
    public var memory = 4              // R: past FCTs in the error memory
    /// What a memory entry tells about its forecast: false, the scaled error of its base median
    /// per horizon (model.md); true, also per quantile whether the actual exceeded the base
    /// quantile, as 1{y > ŷ⁰_q} − (1 − q) (zero on average when calibrated: the signal an
    /// adaptive conformal step integrates; docs/online.md).
    public var memoryQuantiles = false
    /// Whether a memory entry also says how old it is (periods since its FCT, / R): without it the
    /// attention cannot tell apart entries whose horizons have all closed.
    public var memoryAge = false
    /// Whether a memory entry also holds the forecast it made (its final median) for each of the
    /// current FCT's target periods, so that the network can see how far a new forecast moves from
    /// the last ones: what it needs to keep them steady (train --stability; docs/online.md).
    public var memoryForecasts = false
    /// Whether a target's price enters as a constant-elasticity factor (`PriceElasticity`): every
    /// quantile times (target price / price now)^β, with a product's β ≤ 0 read from its encoded
    /// history and category, instead of as a network input.
    public var priceElasticity = false
    /// Switches for the ablations.
    public var useEncoderAttention = true
    public var useFeedback = true
    public init() {}

    /// Values a memory entry keeps per FCT: its base forecast's H medians, or H × Q quantiles
    /// (k-major) [, then, from `memoryBaseForecastWidth` on, its final forecast's H medians].
    public var memoryBaseWidth: Int { memoryBaseForecastWidth + (memoryForecasts ? horizons : 0) }
    /// How many of an entry's kept values are its base forecast (H medians or H × Q quantiles).
    public var memoryBaseForecastWidth: Int { memoryQuantiles ? horizons * quantiles.count : horizons }
    /// Inputs per memory entry: H median errors, H known flags [, H × Q exceedance signals]
    /// [, H past forecasts of the current targets, H present flags] [, age].
    public var memoryWidth: Int {
        2 * horizons + (memoryQuantiles ? horizons * quantiles.count : 0) + (memoryForecasts ? 2 * horizons : 0) + (memoryAge ? 1 : 0)
    }
    /// Where an input entry's past forecasts start (memoryForecasts): after the errors, flags and signals.
    public var memoryForecastsOffset: Int { 2 * horizons + (memoryQuantiles ? horizons * quantiles.count : 0) }
}

extension MQConfig {
    enum CodingKeys: String, CodingKey {
        case context, horizons, quantiles, pastFeatures, calendarFeatures, futureFeatures, categories, embedding,
             channels, dilations, positional, decoder, heads, memory, memoryQuantiles, memoryAge, memoryForecasts, useEncoderAttention, useFeedback, eventFeatures, priceElasticity
    }

    /// Keys added after the first model files (memoryQuantiles, memoryAge, memoryForecasts, eventFeatures, priceElasticity) default when absent, so older files load.
    public init(from decoder: any Decoder) throws {
        let d = try decoder.container(keyedBy: CodingKeys.self)
        self.init()
        context = try d.decode(Int.self, forKey: .context)
        horizons = try d.decode(Int.self, forKey: .horizons)
        quantiles = try d.decode([Double].self, forKey: .quantiles)
        pastFeatures = try d.decode(Int.self, forKey: .pastFeatures)
        calendarFeatures = try d.decode(Int.self, forKey: .calendarFeatures)
        futureFeatures = try d.decode(Int.self, forKey: .futureFeatures)
        eventFeatures = try d.decodeIfPresent(Int.self, forKey: .eventFeatures) ?? 0
        categories = try d.decode(Int.self, forKey: .categories)
        embedding = try d.decode(Int.self, forKey: .embedding)
        channels = try d.decode(Int.self, forKey: .channels)
        dilations = try d.decode([Int].self, forKey: .dilations)
        positional = try d.decode(Int.self, forKey: .positional)
        self.decoder = try d.decode(Int.self, forKey: .decoder)
        heads = try d.decode(Int.self, forKey: .heads)
        memory = try d.decode(Int.self, forKey: .memory)
        memoryQuantiles = try d.decodeIfPresent(Bool.self, forKey: .memoryQuantiles) ?? false
        memoryAge = try d.decodeIfPresent(Bool.self, forKey: .memoryAge) ?? false
        memoryForecasts = try d.decodeIfPresent(Bool.self, forKey: .memoryForecasts) ?? false
        useEncoderAttention = try d.decode(Bool.self, forKey: .useEncoderAttention)
        useFeedback = try d.decode(Bool.self, forKey: .useFeedback)
        priceElasticity = try d.decodeIfPresent(Bool.self, forKey: .priceElasticity) ?? false
    }
}

/// One batch of forecast creation times (FCTs). Rows are stacked: context rows b·L + τ, target
/// rows b·H + k, memory rows b·R + j.
public struct MQBatch {
    public var size: Int
    public var past: Matrix          // [B·L, pastFeatures]
    public var contextCalendar: Matrix // [B·L, calendarFeatures]
    public var targetCalendar: Matrix  // [B·H, calendarFeatures]
    public var future: Matrix        // [B·H, futureFeatures]
    public var categories: [Int]     // B
    /// Scaled realised errors of the R previous FCTs' base medians for horizons 1..H, with a
    /// known/unknown flag each [, and per quantile an exceedance signal]: [B·R, memoryWidth].
    /// Data only: no gradient flows into it.
    public var memory: Matrix
    /// memoryMask[b][k·R + j]: whether memory entry j may be attended to by horizon k of example b.
    public var memoryMask: [[Bool]]
    /// log(target price / price at the FCT) per target row [B·H] (MQConfig.priceElasticity; empty: no change).
    public var priceChange: [Float]
    /// log1p(scale)/10 per example [B]: the elasticity layer's view of volume (MQConfig.priceElasticity).
    public var level: [Float]

    public init(size: Int, past: Matrix, contextCalendar: Matrix, targetCalendar: Matrix, future: Matrix,
                categories: [Int], memory: Matrix, memoryMask: [[Bool]], priceChange: [Float] = [], level: [Float] = []) {
        self.size = size
        self.past = past
        self.contextCalendar = contextCalendar
        self.targetCalendar = targetCalendar
        self.future = future
        self.categories = categories
        self.memory = memory
        self.memoryMask = memoryMask
        self.priceChange = priceChange
        self.level = level
    }
}

/// The network: dilated causal conv encoder → context-dependent positional encoding →
/// horizon-specific decoder-encoder attention → global MLP → feedback-aware attention over the
/// error memory → local MLP → ordered non-negative quantiles [→ price elasticity]. Outputs are in units of the
/// product's scale s; the caller multiplies back. Forward and backward of each stage sit together.
public final class MQNetwork {
    public let config: MQConfig
    let embedding: Embedding
    let encoder: [CausalConv1d]
    let encoderActivations: [ReLU]
    let positional: Dense
    let attention: MultiHeadAttention
    let global1: Dense, global2: Dense
    let globalActivation = ReLU()
    let feedback: MultiHeadAttention
    let local1: Dense, local2: Dense
    let localActivation = ReLU()
    public let head: QuantileHead
    /// The product's elasticity's raw value from [h_T ; category embedding ; level]
    /// (MQConfig.priceElasticity); one for every horizon, which pools the few announced price
    /// changes each horizon sees. The level matters: a low count's quantiles move in whole units,
    /// less than its mean does.
    let elasticity: Dense?
    let price = PriceElasticity()
    // Forward state for backward.
    private var hidden = Matrix(rows: 0, cols: 0)
    private var encoderInputs: [Matrix] = []
    private var batchSize = 0

    public init(_ c: MQConfig, seed: UInt64) {
        config = c
        var rng = Initializer(seed: seed)
        embedding = Embedding(c.categories + 1, c.embedding, init: &rng, name: "category")
        var convs: [CausalConv1d] = []
        for (i, d) in c.dilations.enumerated() {
            convs.append(CausalConv1d(i == 0 ? c.pastFeatures + c.embedding : c.channels, c.channels, kernel: 2, dilation: d, init: &rng, name: "encoder\(i)"))
        }
        encoder = convs
        encoderActivations = convs.map { _ in ReLU() }
        positional = Dense(c.calendarFeatures, c.positional, init: &rng, name: "positional")
        attention = MultiHeadAttention(queryInputs: c.channels + c.positional + c.horizons, keyInputs: c.channels + c.positional,
                                       valueInputs: c.channels, outputs: c.decoder, heads: c.heads, headDim: c.decoder / c.heads,
                                       init: &rng, name: "encoder_attention")
        let globalIn = c.channels + c.horizons * c.decoder + c.horizons * c.futureFeatures + c.embedding
        global1 = Dense(globalIn, 4 * c.decoder, init: &rng, name: "global1")
        global2 = Dense(4 * c.decoder, (c.horizons + 1) * c.decoder, init: &rng, name: "global2")
        feedback = MultiHeadAttention(queryInputs: c.decoder, keyInputs: c.memoryWidth, valueInputs: c.memoryWidth,
                                      outputs: c.decoder, heads: c.heads, headDim: c.decoder / c.heads, init: &rng, name: "feedback")
        local1 = Dense(2 * c.decoder + c.futureFeatures, 2 * c.decoder, init: &rng, name: "local1")
        local2 = Dense(2 * c.decoder, c.quantiles.count, init: &rng, name: "local2")
        head = QuantileHead(levels: c.quantiles)
        // Last, so the other layers' initial weights do not depend on it. β starts near −1.3.
        elasticity = c.priceElasticity ? Dense(c.channels + c.embedding + 1, 1, init: &rng, name: "elasticity") : nil
        elasticity?.bias.value.data[0] = 1
    }

    public var parameters: [Parameter] {
        embedding.parameters + encoder.flatMap(\.parameters) + positional.parameters + attention.parameters
            + global1.parameters + global2.parameters + feedback.parameters + local1.parameters + local2.parameters
            + (elasticity?.parameters ?? [])
    }

    /// Returns the final quantiles and the base quantiles (same local MLP, no feedback), [B·H, Q] each.
    public func forward(_ x: MQBatch) -> (final: Matrix, base: Matrix) {
        let c = config, b = x.size, L = c.context, H = c.horizons
        batchSize = b
        // 1. Encoder over [past features ; category embedding] with residual dilated convolutions.
        let emb = embedding.forward(x.categories)
        var input = Matrix(rows: b * L, cols: c.pastFeatures + c.embedding)
        for r in 0..<(b * L) {
            for f in 0..<c.pastFeatures { input[r, f] = x.past[r, f] }
            for e in 0..<c.embedding { input[r, c.pastFeatures + e] = emb[r / L, e] }
        }
        encoderInputs = []
        var h = input
        for (i, conv) in encoder.enumerated() {
            encoderInputs.append(h)
            let y = encoderActivations[i].forward(conv.forward(h, batch: b, steps: L))
            h = i == 0 ? y : h + y
        }
        hidden = h
        // 2. Context-dependent positional encoding of context and target steps (one call).
        var calendar = Matrix(rows: b * L + b * H, cols: c.calendarFeatures)
        calendar.data = x.contextCalendar.data + x.targetCalendar.data
        let r = positional.forward(calendar)
        // 3. Horizon-specific decoder-encoder attention: query [h_T ; r_{T+k} ; one-hot k].
        var attended = Matrix(rows: b * H, cols: c.decoder)
        if c.useEncoderAttention {
            var query = Matrix(rows: b * H, cols: c.channels + c.positional + H)
            var key = Matrix(rows: b * L, cols: c.channels + c.positional)
            for e in 0..<b {
                for k in 0..<H {
                    let row = e * H + k
                    for j in 0..<c.channels { query[row, j] = h[e * L + L - 1, j] }
                    for j in 0..<c.positional { query[row, c.channels + j] = r[b * L + row, j] }
                    query[row, c.channels + c.positional + k] = 1
                }
            }
            for row in 0..<(b * L) {
                for j in 0..<c.channels { key[row, j] = h[row, j] }
                for j in 0..<c.positional { key[row, c.channels + j] = r[row, j] }
            }
            attended = attention.forward(query: query, key: key, value: h, batch: b)
        }
        // 4. Global MLP → horizon-specific contexts c_k and a horizon-agnostic c_a.
        var g = Matrix(rows: b, cols: global1.weight.value.rows)
        for e in 0..<b {
            var col = 0
            for j in 0..<c.channels { g[e, col] = h[e * L + L - 1, j]; col += 1 }
            for k in 0..<H { for j in 0..<c.decoder { g[e, col] = attended[e * H + k, j]; col += 1 } }
            for k in 0..<H { for j in 0..<c.futureFeatures { g[e, col] = x.future[e * H + k, j]; col += 1 } }
            for j in 0..<c.embedding { g[e, col] = emb[e, j]; col += 1 }
        }
        let contexts = global2.forward(globalActivation.forward(global1.forward(g)))
        var ck = Matrix(rows: b * H, cols: c.decoder)
        var ca = Matrix(rows: b, cols: c.decoder)
        for e in 0..<b {
            for k in 0..<H { for j in 0..<c.decoder { ck[e * H + k, j] = contexts[e, k * c.decoder + j] } }
            for j in 0..<c.decoder { ca[e, j] = contexts[e, H * c.decoder + j] }
        }
        // 5. Feedback-aware attention over the error memory (residual on c_k).
        var cf = ck
        if c.useFeedback {
            cf += feedback.forward(query: ck, key: x.memory, value: x.memory, batch: b, mask: x.memoryMask)
        }
        // 6. Local MLP on [c_k (+ f_k) ; c_a ; future_k], final and base rows stacked in one pass.
        var local = Matrix(rows: 2 * b * H, cols: 2 * c.decoder + c.futureFeatures)
        for half in 0..<2 {
            let source = half == 0 ? cf : ck
            for row in 0..<(b * H) {
                let out = half * b * H + row
                for j in 0..<c.decoder { local[out, j] = source[row, j]; local[out, c.decoder + j] = ca[row / H, j] }
                for j in 0..<c.futureFeatures { local[out, 2 * c.decoder + j] = x.future[row, j] }
            }
        }
        var q = head.forward(local2.forward(localActivation.forward(local1.forward(local))))
        // 7. Price: every quantile (final and base) times (target price / price now)^β.
        if let elasticity {
            var state = Matrix(rows: b, cols: c.channels + c.embedding + 1)
            for e in 0..<b {
                for j in 0..<c.channels { state[e, j] = h[e * L + L - 1, j] }
                for j in 0..<c.embedding { state[e, c.channels + j] = emb[e, j] }
                state[e, c.channels + c.embedding] = x.level.isEmpty ? 0 : x.level[e]
            }
            let a = elasticity.forward(state)
            let rows = 2 * b * H
            let change = x.priceChange.isEmpty ? [Float](repeating: 0, count: rows) : x.priceChange + x.priceChange
            q = price.forward(q, a: (0..<rows).map { a[($0 % (b * H)) / H, 0] }, logChange: change)
        }
        return (q.rows(0, b * H), q.rows(b * H, b * H))
    }

    /// Accumulates parameter gradients from dLoss/dfinal and dLoss/dbase.
    public func backward(final dFinal: Matrix, base dBase: Matrix) {
        let c = config, b = batchSize, L = c.context, H = c.horizons
        var dq = Matrix(rows: 2 * b * H, cols: dFinal.cols)
        dq.data = dFinal.data + dBase.data
        // 7. Price elasticity: its raw value's gradient summed over the example's rows.
        var dState = Matrix(rows: b, cols: c.channels + c.embedding + 1)
        if let elasticity {
            let (dQuantiles, da) = price.backward(dq)
            dq = dQuantiles
            var dA = Matrix(rows: b, cols: 1)
            for (row, g) in da.enumerated() { dA[(row % (b * H)) / H, 0] += g }
            dState = elasticity.backward(dA)
        }
        let dLocal = local1.backward(localActivation.backward(local2.backward(head.backward(dq))))
        var dcf = Matrix(rows: b * H, cols: c.decoder), dck = Matrix(rows: b * H, cols: c.decoder)
        var dca = Matrix(rows: b, cols: c.decoder)
        for half in 0..<2 {
            for row in 0..<(b * H) {
                let src = half * b * H + row
                for j in 0..<c.decoder {
                    if half == 0 { dcf[row, j] += dLocal[src, j] } else { dck[row, j] += dLocal[src, j] }
                    dca[row / H, j] += dLocal[src, c.decoder + j]
                }
            }
        }
        dck += dcf
        if c.useFeedback { dck += feedback.backward(dcf).query }
        var dContexts = Matrix(rows: b, cols: (H + 1) * c.decoder)
        for e in 0..<b {
            for k in 0..<H { for j in 0..<c.decoder { dContexts[e, k * c.decoder + j] = dck[e * H + k, j] } }
            for j in 0..<c.decoder { dContexts[e, H * c.decoder + j] = dca[e, j] }
        }
        let dg = global1.backward(globalActivation.backward(global2.backward(dContexts)))
        var dh = Matrix(rows: b * L, cols: c.channels)
        var dEmb = Matrix(rows: b, cols: c.embedding)
        if elasticity != nil {
            for e in 0..<b {
                for j in 0..<c.channels { dh[e * L + L - 1, j] += dState[e, j] }
                for j in 0..<c.embedding { dEmb[e, j] += dState[e, c.channels + j] }
            }
        }
        var dAttended = Matrix(rows: b * H, cols: c.decoder)
        for e in 0..<b {
            var col = 0
            for j in 0..<c.channels { dh[e * L + L - 1, j] += dg[e, col]; col += 1 }
            for k in 0..<H { for j in 0..<c.decoder { dAttended[e * H + k, j] = dg[e, col]; col += 1 } }
            col += H * c.futureFeatures
            for j in 0..<c.embedding { dEmb[e, j] += dg[e, col]; col += 1 }
        }
        var dr = Matrix(rows: b * L + b * H, cols: c.positional)
        if c.useEncoderAttention {
            let grads = attention.backward(dAttended)
            for e in 0..<b {
                for k in 0..<H {
                    let row = e * H + k
                    for j in 0..<c.channels { dh[e * L + L - 1, j] += grads.query[row, j] }
                    for j in 0..<c.positional { dr[b * L + row, j] += grads.query[row, c.channels + j] }
                }
            }
            for row in 0..<(b * L) {
                for j in 0..<c.channels { dh[row, j] += grads.key[row, j] + grads.value[row, j] }
                for j in 0..<c.positional { dr[row, j] += grads.key[row, c.channels + j] }
            }
        }
        _ = positional.backward(dr)
        // Encoder, residual stack in reverse.
        var dInput = dh
        for i in stride(from: encoder.count - 1, through: 0, by: -1) {
            let dy = encoder[i].backward(encoderActivations[i].backward(dInput))
            dInput = i == 0 ? dy : dInput + dy
        }
        for r in 0..<(b * L) { for e in 0..<c.embedding { dEmb[r / L, e] += dInput[r, c.pastFeatures + e] } }
        embedding.backward(dEmb)
    }
}
