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
    /// Whether a promotion's own lift (beyond its price cut) is a factor beside the elasticity,
    /// exp(γ·(promo of the target − promo now)) with a product's γ ≥ 0, instead of the promotion
    /// flag being a network input (with `priceElasticity` only): the flag then cannot stand in for
    /// the price cut, and β is learned from how deep promotions and price changes cut (model.md).
    public var promoLift = false
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
             channels, dilations, positional, decoder, heads, memory, memoryQuantiles, memoryAge, memoryForecasts, useEncoderAttention, useFeedback, eventFeatures, priceElasticity, promoLift
    }

    /// Keys added after the first model files (memoryQuantiles, memoryAge, memoryForecasts, eventFeatures, priceElasticity, promoLift) default when absent, so older files load.
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
        promoLift = try d.decodeIfPresent(Bool.self, forKey: .promoLift) ?? false
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
    /// Promo flag of the target − promo flag at the FCT per target row [B·H] (MQConfig.promoLift; empty: none).
    public var promoChange: [Float]
    /// log1p(scale)/10 per example [B]: the elasticity layer's view of volume (MQConfig.priceElasticity).
    public var level: [Float]

    public init(size: Int, past: Matrix, contextCalendar: Matrix, targetCalendar: Matrix, future: Matrix,
                categories: [Int], memory: Matrix, memoryMask: [[Bool]], priceChange: [Float] = [], promoChange: [Float] = [], level: [Float] = []) {
        self.size = size
        self.past = past
        self.contextCalendar = contextCalendar
        self.targetCalendar = targetCalendar
        self.future = future
        self.categories = categories
        self.memory = memory
        self.memoryMask = memoryMask
        self.priceChange = priceChange
        self.promoChange = promoChange
        self.level = level
    }
}

/// The network: dilated causal conv encoder → context-dependent positional encoding →
/// horizon-specific decoder-encoder attention → global MLP → feedback-aware attention over the
/// error memory → local MLP → ordered non-negative quantiles [→ price elasticity]. Outputs are in
/// units of the product's scale s; the caller multiplies back. `forward` runs the numbered stages,
/// `backward` the same stages in reverse, each undoing its layout with the matching op (a concat
/// with a split, a gather with a scatter-add). The network holds only weights: what a pass keeps
/// lives in a `Workspace`, one per thread, so one network serves every thread.
public final class MQNetwork {
    public let config: MQConfig
    let embedding: Embedding
    let encoder: [CausalConv1d]
    let encoderActivation = ReLU()
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

    public init(_ c: MQConfig, seed: UInt64) {
        config = c
        var rng = Initializer(seed: seed)
        embedding = Embedding(c.categories + 1, c.embedding, init: &rng, name: "category")
        var convs: [CausalConv1d] = []
        for (i, d) in c.dilations.enumerated() {
            convs.append(CausalConv1d(i == 0 ? c.pastFeatures + c.embedding : c.channels, c.channels, kernel: 2, dilation: d, init: &rng, name: "encoder\(i)"))
        }
        encoder = convs
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
        // Last, so the other layers' initial weights do not depend on it. Raw values: the
        // elasticity's (β ≈ −1.3 at first) [, the promotion lift's (γ ≈ 0.3)].
        elasticity = c.priceElasticity ? Dense(c.channels + c.embedding + 1, c.promoLift ? 2 : 1, init: &rng, name: "elasticity") : nil
        elasticity?.bias.value.data[0] = 1
        if c.promoLift { elasticity?.bias.value.data[1] = -1 }
    }

    public var parameters: [Parameter] {
        embedding.parameters + encoder.flatMap(\.parameters) + positional.parameters + attention.parameters
            + global1.parameters + global2.parameters + feedback.parameters + local1.parameters + local2.parameters
            + (elasticity?.parameters ?? [])
    }

    /// What one thread's forward keeps for its backward, and the gradients its backward adds up.
    /// A class: each worker thread holds its own.
    public final class Workspace {
        var batch = 0
        var embedding: Embedding.Workspace
        var encoder: [CausalConv1d.Workspace]
        var encoderActivations: [ActivationWorkspace]
        var positional: Dense.Workspace
        var attention: MultiHeadAttention.Workspace
        var global1: Dense.Workspace, globalActivation = ActivationWorkspace(), global2: Dense.Workspace
        var feedback: MultiHeadAttention.Workspace
        var local1: Dense.Workspace, localActivation = ActivationWorkspace(), local2: Dense.Workspace
        var head = QuantileHead.Workspace()
        var elasticity: Dense.Workspace?
        var price = PriceElasticity.Workspace()

        init(_ n: MQNetwork) {
            embedding = n.embedding.workspace()
            encoder = n.encoder.map { $0.workspace() }
            encoderActivations = n.encoder.map { _ in ActivationWorkspace() }
            positional = n.positional.workspace()
            attention = n.attention.workspace()
            global1 = n.global1.workspace()
            global2 = n.global2.workspace()
            feedback = n.feedback.workspace()
            local1 = n.local1.workspace()
            local2 = n.local2.workspace()
            elasticity = n.elasticity?.workspace()
        }

        /// The price factor exp(β·Δ [+ γ·π]) of each target row (b·H + k) of the last forward pass;
        /// nil for a network without the price elasticity (every factor 1).
        public func priceFactors() -> [Float]? {
            guard elasticity != nil else { return nil }
            return price.factors(price.rows / 2)  // final rows first, then the base rows
        }

        /// The gradients added up since the last `takeGradients`, in `MQNetwork.parameters` order;
        /// leaves zeros behind.
        public func takeGradients() -> [Matrix] {
            let all = embedding.gradients + encoder.flatMap(\.gradients) + positional.gradients + attention.gradients
                + global1.gradients + global2.gradients + feedback.gradients + local1.gradients + local2.gradients
                + (elasticity?.gradients ?? [])
            embedding.zeroGradients()
            for i in encoder.indices { encoder[i].zeroGradients() }
            positional.zeroGradients(); attention.zeroGradients()
            global1.zeroGradients(); global2.zeroGradients(); feedback.zeroGradients()
            local1.zeroGradients(); local2.zeroGradients(); elasticity?.zeroGradients()
            return all
        }
    }

    public func workspace() -> Workspace { Workspace(self) }

    /// Returns the final quantiles and the base quantiles (same local MLP, no feedback), [B·H, Q] each.
    public func forward(_ x: MQBatch, _ ws: Workspace) -> (final: Matrix, base: Matrix) {
        let c = config, b = x.size, L = c.context, H = c.horizons
        ws.batch = b
        let lastStep = RowIndex.perExample(b, each: 1, stride: L, offset: L - 1)       // h_T of each example
        let lastStepPerTarget = RowIndex.perExample(b, each: H, stride: L, offset: L - 1)
        // 1. Encoder over [past features ; category embedding] with residual dilated convolutions.
        let emb = embedding.forward(x.categories, &ws.embedding)
        var h = concatColumns([x.past, gatherRows(emb, RowIndex.perExample(b, each: L, stride: 1, offset: 0))])
        for (i, conv) in encoder.enumerated() {
            let y = encoderActivation.forward(conv.forward(h, batch: b, steps: L, &ws.encoder[i]), &ws.encoderActivations[i])
            h = i == 0 ? y : h + y
        }
        let hT = gatherRows(h, lastStep)
        // 2. Context-dependent positional encoding of context and target steps (one call).
        let r = positional.forward(concatRows([x.contextCalendar, x.targetCalendar]), &ws.positional)
        // 3. Horizon-specific decoder-encoder attention: query [h_T ; r_{T+k} ; one-hot k], keys [h_τ ; r_τ].
        var attended = Matrix(rows: b * H, cols: c.decoder)
        if c.useEncoderAttention {
            let query = concatColumns([gatherRows(h, lastStepPerTarget), r.rows(b * L, b * H), Self.oneHotHorizons(b, H)])
            let key = concatColumns([h, r.rows(0, b * L)])
            attended = attention.forward(query: query, key: key, value: h, batch: b, &ws.attention)
        }
        // 4. Global MLP on [h_T ; attended_1..H ; future_1..H ; embedding] → contexts c_1..H and c_a.
        let g = concatColumns([hT, attended.reshaped(rows: b, cols: H * c.decoder),
                               x.future.reshaped(rows: b, cols: H * c.futureFeatures), emb])
        let contexts = global2.forward(globalActivation.forward(global1.forward(g, &ws.global1), &ws.globalActivation), &ws.global2)
        let split = splitColumns(contexts, [H * c.decoder, c.decoder])
        let ck = split[0].reshaped(rows: b * H, cols: c.decoder), ca = split[1]
        // 5. Feedback-aware attention over the error memory (residual on c_k).
        var cf = ck
        if c.useFeedback {
            cf += feedback.forward(query: ck, key: x.memory, value: x.memory, batch: b, mask: x.memoryMask, &ws.feedback)
        }
        // 6. Local MLP on [c_k (+ f_k) ; c_a ; future_k], final and base rows stacked in one pass.
        let caPerTarget = gatherRows(ca, RowIndex.perExample(b, each: H, stride: 1, offset: 0))
        let local = concatRows([concatColumns([cf, caPerTarget, x.future]), concatColumns([ck, caPerTarget, x.future])])
        let z = local2.forward(localActivation.forward(local1.forward(local, &ws.local1), &ws.localActivation), &ws.local2)
        var q = head.forward(z, &ws.head)
        // 7. Price: every quantile (final and base) times (target price / price now)^β [· the promotion's lift].
        if let elasticity {
            let level = Matrix(rows: b, cols: 1, data: x.level.isEmpty ? Array(repeating: 0, count: b) : x.level)
            let a = elasticity.forward(concatColumns([hT, emb, level]), &ws.elasticity!)
            let rows = 2 * b * H
            let change = x.priceChange.isEmpty ? [Float](repeating: 0, count: rows) : x.priceChange + x.priceChange
            let raw = { (column: Int) in (0..<rows).map { a[($0 % (b * H)) / H, column] } }
            if c.promoLift {
                let promo = x.promoChange.isEmpty ? [Float](repeating: 0, count: rows) : x.promoChange + x.promoChange
                q = price.forward(q, a: raw(0), logChange: change, g: raw(1), promoChange: promo, &ws.price)
            } else {
                q = price.forward(q, a: raw(0), logChange: change, &ws.price)
            }
        }
        return (q.rows(0, b * H), q.rows(b * H, b * H))
    }

    /// Adds the parameter gradients of dLoss/dfinal and dLoss/dbase to the workspace of the
    /// forward pass they belong to (`Workspace.takeGradients` reads them).
    public func backward(final dFinal: Matrix, base dBase: Matrix, _ ws: Workspace) {
        let c = config, b = ws.batch, L = c.context, H = c.horizons
        let lastStep = RowIndex.perExample(b, each: 1, stride: L, offset: L - 1)
        let lastStepPerTarget = RowIndex.perExample(b, each: H, stride: L, offset: L - 1)
        var dq = concatRows([dFinal, dBase])
        // 7. Price: the raw values' gradients summed over each example's rows.
        var dhT = Matrix(rows: b, cols: c.channels), dEmb = Matrix(rows: b, cols: c.embedding)
        if let elasticity {
            let (dQuantiles, da, dg) = price.backward(dq, ws.price)
            dq = dQuantiles
            var dA = Matrix(rows: b, cols: c.promoLift ? 2 : 1)
            for (row, g) in da.enumerated() { dA[(row % (b * H)) / H, 0] += g }
            for (row, g) in dg.enumerated() { dA[(row % (b * H)) / H, 1] += g }
            let dState = splitColumns(elasticity.backward(dA, &ws.elasticity!), [c.channels, c.embedding, 1])
            dhT = dState[0]
            dEmb = dState[1]
        }
        // 6. Local MLP; the stacked halves and their columns split back, c_a's copies summed.
        let dz = head.backward(dq, ws.head)
        let dLocal = local1.backward(localActivation.backward(local2.backward(dz, &ws.local2), ws.localActivation), &ws.local1)
        let halves = splitRows(dLocal, [b * H, b * H]).map { splitColumns($0, [c.decoder, c.decoder, c.futureFeatures]) }
        let dcf = halves[0][0]
        var dck = halves[1][0]
        var dca = Matrix(rows: b, cols: c.decoder)
        let perTarget = RowIndex.perExample(b, each: H, stride: 1, offset: 0)
        scatterAddRows(halves[0][1], perTarget, into: &dca)
        scatterAddRows(halves[1][1], perTarget, into: &dca)
        // 5. Feedback attention: the residual passes dcf to c_k, and so does its query.
        dck += dcf
        if c.useFeedback { dck += feedback.backward(dcf, &ws.feedback).query }
        // 4. Global MLP; its input split back into h_T, attended, (future: data) and embedding.
        let dContexts = concatColumns([dck.reshaped(rows: b, cols: H * c.decoder), dca])
        let dg = global1.backward(globalActivation.backward(global2.backward(dContexts, &ws.global2), ws.globalActivation), &ws.global1)
        let dGlobal = splitColumns(dg, [c.channels, H * c.decoder, H * c.futureFeatures, c.embedding])
        dhT += dGlobal[0]
        dEmb += dGlobal[3]
        let dAttended = dGlobal[1].reshaped(rows: b * H, cols: c.decoder)
        // 3. Attention: query, key and value gradients back onto h and r.
        var dh = Matrix(rows: b * L, cols: c.channels)
        scatterAddRows(dhT, lastStep, into: &dh)
        var dr = Matrix(rows: b * L + b * H, cols: c.positional)
        if c.useEncoderAttention {
            let grads = attention.backward(dAttended, &ws.attention)
            let dQuery = splitColumns(grads.query, [c.channels, c.positional, H])
            let dKey = splitColumns(grads.key, [c.channels, c.positional])
            scatterAddRows(dQuery[0], lastStepPerTarget, into: &dh)
            dh += dKey[0] + grads.value
            dr = concatRows([dKey[1], dQuery[1]])
        }
        // 2. Positional encoding.
        _ = positional.backward(dr, &ws.positional)
        // 1. Encoder, residual stack in reverse; the embedding's copies summed per example.
        var dInput = dh
        for i in stride(from: encoder.count - 1, through: 0, by: -1) {
            let dy = encoder[i].backward(encoderActivation.backward(dInput, ws.encoderActivations[i]), &ws.encoder[i])
            dInput = i == 0 ? dy : dInput + dy
        }
        let dEncoderInput = splitColumns(dInput, [c.pastFeatures, c.embedding])
        scatterAddRows(dEncoderInput[1], RowIndex.perExample(b, each: L, stride: 1, offset: 0), into: &dEmb)
        embedding.backward(dEmb, &ws.embedding)
    }

    /// Row e·H + k holds a 1 in column k: which horizon a query asks for.
    static func oneHotHorizons(_ b: Int, _ H: Int) -> Matrix {
        var m = Matrix(rows: b * H, cols: H)
        for row in 0..<(b * H) { m[row, row % H] = 1 }
        return m
    }
}
