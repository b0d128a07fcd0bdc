import Foundation
import Checkpoint
import Decisions
import Events
import Forecasting
import Metrics
import Monitoring
import Windows

/// One input record, from Kafka or a replay file.
public struct SourceRecord {
    public var topic: String
    public var partition: Int32
    public var offset: Int64
    public var key: [UInt8]?
    public init(topic: String, partition: Int32, offset: Int64, key: [UInt8]?) {
        self.topic = topic
        self.partition = partition
        self.offset = offset
        self.key = key
    }
}

/// The processor of the pipeline: decode → validate → window → (period close) → forecast → sink.
/// The same code runs for the Kafka service and for offline replays; only source and sink differ.
/// State is one `PartitionState` per partition number, plus the offsets it reflects: exactly what
/// the checkpoint stores.
public final class StreamProcessor {
    public let config: PipelineConfig
    public private(set) var forecaster: any Forecaster
    let decoder: EventDecoder
    public let sink: PipelineSink
    /// By partition number (few keys). Code that holds one inout (closePeriods) never touches the map.
    var partitions: [Int32: PartitionState] = [:]
    /// Next offset to read per input topic-partition (what the state reflects).
    var offsets = OffsetTable()
    public var positions: [String: [Int32: Int64]] { offsets.dictionary }
    public internal(set) var stats = Stats()
    /// Scores forecasts as actuals arrive and raises drift alerts (nil: monitoring off).
    public let monitor: ForecastMonitor?
    /// The scopes' detectors have run through this period (DriftOutput.closeScopes).
    var scopesClosedThrough: Int64 = .min
    /// Turns each forecast into an order recommendation (nil: decisions off).
    let recommender: Recommender?
    /// By kind: no topic of its own (inventory or costs while their topic is unset, per-kind topics).
    private let withoutTopic: [Bool]
    /// Products refreshed early in their partition's open period.
    public var earlyRefreshesPending: Int { partitions.values.reduce(0) { $0 + $1.earlyRefreshed.count } }

    public struct Stats: Sendable {
        public var events = 0
        public var accepted = 0
        public var deadLetters: [String: Int] = [:]
        public var forecasts = 0
        public var earlyRefreshes = 0
        public var recommendations = 0
    }

    private let eventsIn: [Counter]
    private let forecastsOut = PipelineMetrics.forecasts()
    private let recommendationsOut = PipelineMetrics.recommendations()
    /// Time per batched refresh call (up to `refreshBatch` products): a histogram in Prometheus.
    private let refreshTimer = PipelineMetrics.refreshDuration()

    public init(config: PipelineConfig, sink: PipelineSink, forecaster: (any Forecaster)? = nil) throws {
        self.config = config
        self.sink = sink
        self.forecaster = try forecaster ?? config.makeForecaster()
        decoder = EventDecoder(maxMessageBytes: config.maxMessageBytes)
        monitor = config.monitoring.map { c in
            var c = c
            c.quantiles = config.quantiles
            return ForecastMonitor(config: c)
        }
        eventsIn = EventKind.allCases.map { PipelineMetrics.events(kind: $0.wireName) }
        recommender = config.decisions?.recommender(period: config.windows.period)
        withoutTopic = EventKind.allCases.map { k in config.topics.kind(of: config.topics.topic(for: k)).map { $0 != k } ?? false }
    }

    /// Switches the model between two records (hot reload). The per-product state carries over:
    /// the caller has checked the new forecaster reads it the same way.
    public func replaceForecaster(_ next: any Forecaster) {
        forecaster = next
    }

    /// Processes one Kafka record (the topic decides the expected kind).
    public func process(_ record: SourceRecord, value: UnsafeRawBufferPointer) throws {
        let decoded = decoder.decode(value, expectedKind: config.topics.kind(of: record.topic), key: record.key)
        try handle(decoded, input: record.topic, record: record, value: value)
    }

    /// Where a replay line goes: the topic its kind is published to and its product's partition
    /// (nil for a line that does not decode).
    public func route(_ decoded: Result<Event, BadEvent>) -> (input: String, partition: Int32)? {
        guard case .success(let e) = decoded else { return nil }
        return (config.topics.topic(for: e.kind), Partitioner.partition(product: e.product, partitions: config.partitions))
    }

    public func decodeReplayLine(_ line: UnsafeRawBufferPointer) -> Result<Event, BadEvent> { decoder.decode(line) }

    /// Processes one replay line as the Kafka path would process it on its topic and partition.
    @discardableResult
    public func processReplayLine(_ line: UnsafeRawBufferPointer, lineNumber: Int64) throws -> (input: String, partition: Int32)? {
        var decoded = decoder.decode(line)
        let route = route(decoded)
        let input = route?.input ?? "replay"
        // As the Kafka path decodes it on that topic: a kind with no topic of its own lands on
        // another kind's topic and is refused there.
        if case .success(let e) = decoded, withoutTopic[Int(e.kind.rawValue)], let expected = config.topics.kind(of: input) {
            decoded = .failure(BadEvent(.typeMismatch, "\(e.kind.wireName) event on the \(expected.wireName) topic"))
        }
        let record = SourceRecord(topic: input, partition: route?.partition ?? 0, offset: lineNumber, key: nil)
        try handle(decoded, input: input, record: record, value: line)
        return route
    }

    private func handle(_ decoded: Result<Event, BadEvent>, input: String, record: SourceRecord, value: UnsafeRawBufferPointer) throws {
        stats.events += 1
        defer { offsets.set(topic: record.topic, partition: record.partition, next: record.offset + 1) }
        let event: Event
        switch decoded {
        case .failure(let bad): return try reject(bad, record: record, value: value)
        case .success(let e): event = e
        }
        if event.kind == .costs, let bad = costsProblem(event) { return try reject(bad, record: record, value: value) }
        let at = partitionIndex(record.partition)
        if let bad = partitions.values[at].windows.ingest(event, input: input) {
            return try reject(bad, record: record, value: value)
        }
        stats.accepted += 1
        eventsIn[Int(event.kind.rawValue)].increment()
        if try closePeriods(&partitions.values[at]) { try closeScopes() }
        if config.earlyRefresh != nil { try refreshEarlyIfTriggered(event, partition: record.partition) }
    }

    /// Where partition `p`'s state sits (created empty if new). Callers mutate it in place through
    /// `partitions.values[index]`: `partitions[p]!` goes through an Optional that copies the
    /// partition's whole state out and back (a retain and release of every field) on each call.
    private func partitionIndex(_ p: Int32) -> Dictionary<Int32, PartitionState>.Index {
        if let at = partitions.index(forKey: p) { return at }
        partitions[p] = PartitionState(partition: p, config: config.windows)
        return partitions.index(forKey: p)!
    }

    /// Closes every period the watermark allows and refreshes the closed products' forecasts in
    /// batches (one forward pass per batch for the neural model). Batches are formed in product-id
    /// order, which is the same in every run whatever order the products were first seen in, so
    /// batched numerics cannot make a replay differ from a live run. True when periods closed (the
    /// caller then lets the fleet and categories evaluate: `closeScopes`, outside this inout access).
    func closePeriods(_ state: inout PartitionState) throws -> Bool {
        guard let limit = state.windows.closable, limit > (state.windows.closedThrough ?? .min) else { return false }
        defer { state.forgetClosedEarlyRefreshes() }
        while true {
            var closed: [(slot: Int, window: ProductWindow)] = []
            guard state.windows.closeNext({ closed.append(($0, $1)) }) != nil else { break }
            closed.sort { $0.window.product < $1.window.product }
            for from in stride(from: 0, to: closed.count, by: Self.refreshBatch) {
                let chunk = closed[from..<min(from + Self.refreshBatch, closed.count)]
                var states = chunk.map { state.forecasterState(slot: $0.slot) }
                let started = DispatchTime.now().uptimeNanoseconds
                let values = forecaster.forecastBatch(chunk.map(\.window), horizons: config.horizons, quantiles: config.quantiles, states: &states)
                refreshTimer.recordNanoseconds(Int64(DispatchTime.now().uptimeNanoseconds - started))
                for (i, item) in chunk.enumerated() {
                    state.setForecasterState(states[i], slot: item.slot)
                    try monitor(item.window, forecast: values[i])
                    let message = ForecastMessage(window: item.window, period: config.windows.period, quantiles: config.quantiles,
                                                  values: values[i], model: forecaster.id)
                    try sink.emit(message)
                    try recommend(item.window, message)
                    stats.forecasts += 1
                    forecastsOut.increment()
                }
            }
        }
        return true
    }

    /// Why a costs event cannot apply (nil: it can): a key that does not take its value, or a
    /// cover (lead time + review period) beyond the horizons.
    func costsProblem(_ event: Event) -> BadEvent? {
        do { try PolicyBook.check(event.policy) } catch { return BadEvent(.badCosts, error.description) }
        guard let cover = recommender?.book.policy(product: event.product, category: event.category, own: event.policy).coverage,
              cover > config.horizons else { return nil }
        return BadEvent(.badCosts, "lead time + review period = \(cover) periods, beyond the forecast's \(config.horizons)")
    }

    /// Emits the order recommendation for a forecast (when decisions are on).
    func recommend(_ window: ProductWindow, _ forecast: ForecastMessage) throws {
        guard var r = recommendation(for: window, forecast) else { return }
        r.provisional = forecast.provisional
        try sink.recommend(r, json: r.jsonBytes)
        stats.recommendations += 1
        recommendationsOut.increment()
    }

    /// The order recommendation for a forecast, at the price in force in the first target period
    /// as known at the FCT (nil: decisions off, or no price from the policy or the product's events).
    func recommendation(for window: ProductWindow, _ forecast: ForecastMessage) -> Recommendation? {
        guard let recommender, let first = forecast.targets.first else { return nil }
        let period = config.windows.period
        let price = window.price(from: first.start, to: period.start(of: period.index(of: first.start) + 1), asOf: first.start).price
        return recommender.recommend(product: window.product, category: window.category, productPrice: price > 0 ? Double(price) : nil,
                                     period: period.rawValue, fct: forecast.fct, model: forecast.model,
                                     levels: forecast.quantiles, horizons: forecast.targets.map(\.q),
                                     inventoryPosition: window.stock(before: first.start)?.inventoryPosition,
                                     ownPolicy: window.policy(before: first.start))
    }

    /// Products refreshed per forecaster call at a period close.
    static let refreshBatch = 1024

    private func reject(_ bad: BadEvent, record: SourceRecord, value: UnsafeRawBufferPointer) throws {
        stats.deadLetters[bad.reason.rawValue, default: 0] += 1
        PipelineMetrics.deadLetters(reason: bad.reason.rawValue).increment()
        if bad.reason == .late { PipelineMetrics.lateEvents(input: record.topic).increment() }
        try sink.deadLetter(DeadLetter(reason: bad.reason.rawValue, detail: bad.detail, topic: record.topic,
                                       partition: record.partition, offset: record.offset, key: record.key,
                                       value: Array(value)))
    }

    /// Declares the inputs a partition must hear from before it closes periods (see PartitionWindows).
    public func register(partition p: Int32, inputs: [String]) {
        let at = partitionIndex(p)
        for input in inputs { partitions.values[at].windows.register(input: input) }
    }

    /// The source has read everything this input holds so far; periods may close.
    public func inputCaughtUp(_ input: String, partition p: Int32) throws {
        guard let at = partitions.index(forKey: p) else { return }
        partitions.values[at].windows.markIdle(input: input)
        if try closePeriods(&partitions.values[at]) { try closeScopes() }
    }

    /// Drops a partition's in-memory state (after it was checkpointed and revoked).
    public func unload(partition: Int32) {
        partitions[partition] = nil
        offsets.remove(partition: partition)
    }
}

/// Next offsets per topic and partition; a linear scan over the few input topics is cheaper per
/// event than hashing the topic name.
struct OffsetTable {
    private var topics: [String] = []
    private var next: [[Int64]] = []

    mutating func set(topic: String, partition: Int32, next offset: Int64) {
        let t: Int
        if let i = topics.firstIndex(of: topic) { t = i } else {
            topics.append(topic)
            next.append([])
            t = topics.count - 1
        }
        let p = Int(partition)
        if next[t].count <= p { next[t] += Array(repeating: -1, count: p + 1 - next[t].count) }
        next[t][p] = offset
    }

    mutating func remove(partition: Int32) {
        for t in next.indices where Int(partition) < next[t].count { next[t][Int(partition)] = -1 }
    }

    var dictionary: [String: [Int32: Int64]] {
        var out: [String: [Int32: Int64]] = [:]
        for (t, name) in topics.enumerated() {
            for (p, o) in next[t].enumerated() where o >= 0 { out[name, default: [:]][Int32(p)] = o }
        }
        return out
    }
}
