import Decisions
import Events
import Forecasting
import Synchronization
import Windows

/// A planned price for a product: `price` from `from` (epoch ms; nil: the next period the product
/// has no forecast for yet, its first target) to `to` (nil: for good).
public struct PricePlan: Sendable, Equatable {
    public var price: Double
    public var from: Int64?
    public var to: Int64?
    /// `price` is a factor of the product's current price (a price curve), resolved against the
    /// same state the forecasts come from.
    public var relative = false
    public init(price: Double, from: Int64? = nil, to: Int64? = nil) {
        self.price = price
        self.from = from
        self.to = to
    }

    public static func factor(_ f: Double, from: Int64? = nil, to: Int64? = nil) -> PricePlan {
        var plan = PricePlan(price: f, from: from, to: to)
        plan.relative = true
        return plan
    }
}

/// A product's forecast under its own price schedule and under planned prices, from its state as
/// it is (window, error memory); nothing of that state changes.
public struct WhatIfAnswer: Sendable {
    public struct Scenario: Sendable {
        public var plan: PricePlan?
        public var forecast: ForecastMessage
        public var recommendation: Recommendation?
        /// Σ over the horizons of the forecast's mean (from its quantiles), and of mean × the
        /// price in force in that period.
        public var expectedUnits: Double
        public var expectedRevenue: Double
    }
    /// At the prices the product's schedule has now.
    public var current: Scenario
    /// The price the schedule has for the first target period (0: never priced).
    public var price: Double
    public var planned: [Scenario]

    public var json: String {
        func scenario(_ s: Scenario) -> String {
            var out = "{"
            if let plan = s.plan {
                out += #""price":"# + Recommendation.number(plan.price) + #","from":""# + Timestamp.format(plan.from ?? s.forecast.targets[0].start) + "\""
                out += plan.to.map { #","to":""# + Timestamp.format($0) + "\"," } ?? ","
            }
            out += #""expected_units":"# + Recommendation.number(s.expectedUnits) + #","expected_revenue":"# + Recommendation.number(s.expectedRevenue) + ","
            out += #""forecast":"# + s.forecast.json
            if let r = s.recommendation { out += #","recommendation":"# + String(decoding: r.jsonBytes, as: UTF8.self) }
            return out + "}"
        }
        return #"{"product":"# + EventEncoder.quote(current.forecast.product) + #","price":"# + Recommendation.number(price) + #","current":"# + scenario(current)
            + #","planned":["# + planned.map(scenario).joined(separator: ",") + "]}"
    }
}

extension StreamProcessor {
    /// The product's forecasts at its current prices and under each plan, in one batch (nil: the
    /// processor holds no closed period of the product).
    public func whatIf(product: String, plans: [PricePlan]) -> WhatIfAnswer? {
        let p = Partitioner.partition(product: product, partitions: config.partitions)
        guard let state = partitions[p], let slot = state.windows.slot(of: product),
              let window = state.windows.product(product), window.filled > 0 else { return nil }
        let period = config.windows.period
        let next = period.start(of: window.lastClosed + 1)
        // The price the schedule has for the first target period (0: never priced).
        let price = Double(window.price(from: next, to: period.start(of: window.lastClosed + 2), asOf: next).price)
        // Relative plans of a product without a price have nothing to scale: left out.
        let plans = plans.compactMap { plan -> PricePlan? in
            guard plan.relative else { return plan }
            return price > 0 ? PricePlan(price: plan.price * price, from: plan.from, to: plan.to) : nil
        }
        let windows = [window] + plans.map { window.withPlannedPrice($0.price, from: $0.from ?? next, to: $0.to, calendar: period) }
        var states = windows.map { _ in state.forecasterState(slot: slot) }  // copies: the product's own is untouched
        let values = forecaster.forecastBatch(windows, horizons: config.horizons, quantiles: config.quantiles, states: &states)
        let scenarios = zip(windows, values).enumerated().map { i, pair -> WhatIfAnswer.Scenario in
            let (w, v) = pair
            let message = ForecastMessage(window: w, period: period, quantiles: config.quantiles, values: v, model: forecaster.id)
            var units = 0.0, revenue = 0.0
            for t in message.targets {
                let mean = QuantileCurve(levels: config.quantiles, values: t.q.map(Double.init)).moments.mean
                let end = period.start(of: period.index(of: t.start) + 1)
                units += mean
                revenue += mean * Double(w.price(from: t.start, to: end, asOf: t.start).price)
            }
            return .init(plan: i == 0 ? nil : plans[i - 1], forecast: message, recommendation: recommendation(for: w, message),
                         expectedUnits: units, expectedRevenue: revenue)
        }
        return WhatIfAnswer(current: scenarios[0], price: price, planned: Array(scenarios.dropFirst()))
    }
}

/// Where other threads (the HTTP endpoint) ask the service loop for what-ifs: the processor is
/// the loop's alone, so questions wait here until the loop's next turn (at most one poll, 100 ms)
/// and are answered there, between two records.
public final class WhatIfDesk: Sendable {
    public enum Outcome: Sendable {
        case answer(WhatIfAnswer)
        /// The product has no closed period in this instance (unknown, or on another instance's partition).
        case unknownProduct
        /// The service stopped before answering.
        case stopped
    }

    private struct Question: Sendable {
        var product: String
        var plans: [PricePlan]
        var reply: @Sendable (Outcome) -> Void
    }

    private let waiting = Mutex<(open: Bool, questions: [Question])>((true, []))

    public init() {}

    /// Asks; the reply comes from the service loop's thread.
    public func ask(product: String, plans: [PricePlan]) async -> Outcome {
        await withCheckedContinuation { (c: CheckedContinuation<Outcome, Never>) in
            let queued = waiting.withLock { w in
                guard w.open else { return false }
                w.questions.append(Question(product: product, plans: plans) { c.resume(returning: $0) })
                return true
            }
            if !queued { c.resume(returning: .stopped) }
        }
    }

    /// Answers every waiting question from the processor (the service loop calls this).
    func answer(with processor: StreamProcessor) {
        let questions = waiting.withLock { w in
            defer { w.questions = [] }
            return w.questions
        }
        for q in questions {
            q.reply(processor.whatIf(product: q.product, plans: q.plans).map(Outcome.answer) ?? .unknownProduct)
        }
    }

    /// No more answers: every waiting and later question gets `.stopped`.
    func close() {
        let questions = waiting.withLock { w in
            w.open = false
            defer { w.questions = [] }
            return w.questions
        }
        for q in questions { q.reply(.stopped) }
    }
}
