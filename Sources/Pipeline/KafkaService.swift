import Checkpoint
import Forecasting
import Foundation
import Kafka
import Logging
import Metrics
import Monitoring

/// The service loop: Kafka source → processor → Kafka sink, with checkpoints (`Checkpointer`:
/// outputs flushed, then state and offsets in one transaction).
///
/// On (re)assignment the service restores each partition's state and seeks to the stored
/// offsets, so after a crash it re-reads exactly what the state has not seen. Forecasts emitted
/// after the last checkpoint are emitted again, with byte-identical values.
public final class KafkaService {
    public let config: PipelineConfig
    let kafka: KafkaConfig
    let store: CheckpointStore
    let logger: Logger
    let processor: StreamProcessor
    let producer: KafkaProducer
    var consumer: KafkaConsumer!
    var checkpointer: Checkpointer!
    /// The state changelog (nil: `topics.changelog` is empty; state lives only in the local file).
    let changelog: ChangelogWriter?
    var restorer: PartitionRestorer!
    private var loaded = Set<Int32>()
    /// Inputs that reached their partition's end, and when (by partition number, then topic): each
    /// keeps holding its partition's clock until `config.idleGraceSeconds` pass without a new
    /// message. Looked up per message only while it is not empty, by the partition's number.
    private var caughtUp: [Int32: [String: Date]] = [:]
    /// Hot model reload (nil: the forecaster is fixed for the run).
    public var reloader: ModelReloader?
    /// Price what-ifs asked by other threads, answered between polls.
    public let whatIf = WhatIfDesk()

    /// `instanceID`: static group membership (`group.instance.id`), a consumer property like the group.
    public init(config: PipelineConfig, kafka: KafkaConfig, statePath: String, groupID: String, instanceID: String? = nil,
                forecaster: (any Forecaster)? = nil, logger: Logger = Logger(label: "streamcast.service")) throws {
        self.config = config
        self.kafka = kafka
        self.logger = logger
        store = try CheckpointStore(path: statePath)
        try store.bind(fingerprint: config.fingerprint)
        var producerConfig = kafka
        producerConfig["partitioner"] = producerConfig["partitioner"] ?? "murmur2_random"
        let producer = try KafkaProducer(config: producerConfig)
        self.producer = producer
        processor = try StreamProcessor(config: config, sink: KafkaSink(producer: producer, topics: config.topics), forecaster: forecaster)
        changelog = try config.topics.changelog.map { try ChangelogWriter(topic: $0, producer: producer) }
        // The instance's fleet and category monitor state, as of its last checkpoint.
        if let stored = try store.instanceState("monitor_scopes") { processor.restoreScopes(stored) }
        let layout = processor.forecaster.stateLayout
        if let old = try store.bind(forecasterState: layout) {
            logger.warning("forecaster state reset: the checkpoint's per-product states are of another layout; every product keeps its window and starts a fresh memory",
                           metadata: ["was": "\(old)", "now": "\(layout)"])
        }
        var consumerConfig = kafka
        consumerConfig["group.id"] = groupID
        if let instanceID { consumerConfig["group.instance.id"] = instanceID }
        consumer = try KafkaConsumer(config: consumerConfig, logger: logger,
                                     onAssign: { [unowned self] in try self.assigned($0) },
                                     onRevoke: { [unowned self] in self.revoked($0) })
        checkpointer = Checkpointer(store: store, processor: processor, consumer: consumer, changelog: changelog, config: config, logger: logger)
        restorer = PartitionRestorer(store: store, kafka: kafka, changelog: changelog, logger: logger)
        try restorer.checkChangelogTopic(partitions: config.partitions)
    }

    public var stats: StreamProcessor.Stats { processor.stats }
    public var monitor: ForecastMonitor? { processor.monitor }
    /// The id of the forecaster serving now (a model id, or a baseline's name).
    public var forecasterID: String { processor.forecaster.id }

    /// Consumes until `shouldStop` returns true, then checkpoints and leaves the group.
    public func run(shouldStop: () -> Bool) throws {
        defer { whatIf.close() }
        try consumer.subscribe(config.topics.inputs)
        logger.info("consuming", metadata: ["topics": "\(config.topics.inputs)", "forecaster": "\(processor.forecaster.id)"])
        while !shouldStop() {
            if let next = reloader?.take() {
                processor.replaceForecaster(next)
                logger.info("model reload: now serving", metadata: ["model": "\(next.id)"])
            }
            let batch = try consumer.poll(max: 5000, timeoutMs: 100)
            for event in batch {
                switch event {
                case .message(let m):
                    if !caughtUp.isEmpty, caughtUp[m.partition] != nil {
                        caughtUp[m.partition]![m.topic] = nil
                        if caughtUp[m.partition]!.isEmpty { caughtUp[m.partition] = nil }
                    }
                    let record = SourceRecord(topic: m.topic, partition: m.partition, offset: m.offset, key: m.key)
                    try m.value.withUnsafeBytes { try processor.process(record, value: $0) }
                case .endOfPartition(let topic, let partition, _):
                    caughtUp[partition, default: [:]][topic] = Date()
                }
            }
            try releaseIdleInputs()
            whatIf.answer(with: processor)
            producer.poll()
            try checkpointer.maybeCheckpoint(afterEvents: batch.count)
        }
        try checkpointer.final()
        consumer.close()
        producer.close()
    }

    /// Checkpoints now (outputs flushed, then state and offsets).
    public func checkpoint() throws { try checkpointer.checkpoint() }

    /// Inputs caught up for the grace time stop holding their partition's clock: its periods close
    /// on the other inputs (a later event of theirs for a closed period is late).
    private func releaseIdleInputs() throws {
        guard !caughtUp.isEmpty else { return }
        let now = Date()
        for partition in caughtUp.keys.sorted() {
            for (topic, since) in caughtUp[partition]!.sorted(by: { $0.key < $1.key }) where now.timeIntervalSince(since) >= config.idleGraceSeconds {
                caughtUp[partition]![topic] = nil
                try processor.inputCaughtUp(topic, partition: partition)
            }
            if caughtUp[partition]!.isEmpty { caughtUp[partition] = nil }
        }
    }

    /// Restores each new partition's state (`PartitionRestorer`: the local file or the changelog); a
    /// partition that cannot be restored stops the service (the error leaves `run`): serving it from
    /// an empty state would silently forget its history.
    private func assigned(_ parts: [TopicPartitionOffset]) throws -> [TopicPartitionOffset] {
        for p in Set(parts.map(\.partition)).sorted() where !loaded.contains(p) {
            do {
                if let unstored = try restorer.restore(p, into: processor).unstored { checkpointer.storeLater(unstored) }
            } catch {
                logger.critical("cannot restore partition state; stopping", metadata: ["partition": "\(p)", "state": "\(store.path)", "error": "\(error)"])
                throw error
            }
            processor.register(partition: p, inputs: parts.filter { $0.partition == p }.map(\.topic))
            loaded.insert(p)
        }
        // Start where the checkpoint says; with no checkpoint for a partition, from its beginning.
        let positions = processor.positions
        for tp in parts { try checkRetention(tp.topic, tp.partition, needed: positions[tp.topic]?[tp.partition] ?? 0) }
        return parts.map { tp in
            TopicPartitionOffset(topic: tp.topic, partition: tp.partition,
                                 offset: positions[tp.topic]?[tp.partition] ?? KafkaOffset.beginning)
        }
    }

    /// Says so, loudly, when an input partition no longer holds offsets the state has not read
    /// (retention deleted them first): its products' windows will miss those events. Goes on or
    /// stops per `service.on_retention_gap`.
    private func checkRetention(_ topic: String, _ partition: Int32, needed: Int64) throws {
        let first: Int64
        do { first = try consumer.firstOffset(topic: topic, partition: partition) } catch {
            logger.warning("cannot ask the broker where a partition starts; retention gaps go unchecked", metadata: ["topic": "\(topic)", "partition": "\(partition)", "error": "\(error)"])
            return
        }
        guard first > needed else { return }
        let gone = first - needed
        PipelineMetrics.retentionGapOffsets(topic: topic).increment(by: Int(gone))
        logger.error("retention gap: the input no longer holds offsets the state has not read; their events are lost to the windows",
                     metadata: ["topic": "\(topic)", "partition": "\(partition)", "needed_from": "\(needed)", "first_available": "\(first)",
                                "offsets_gone": "\(gone)", "policy": "\(config.stopOnRetentionGap ? "stop" : "continue")"])
        if config.stopOnRetentionGap {
            throw RetentionGapError(topic: topic, partition: partition, needed: needed, firstAvailable: first)
        }
    }

    private func revoked(_ parts: [TopicPartitionOffset]) {
        do { try checkpoint() } catch {
            logger.error("checkpoint on revoke failed; state will be re-read from the last checkpoint", metadata: ["error": "\(error)"])
        }
        for p in Set(parts.map(\.partition)) {
            processor.unload(partition: p)
            changelog?.revoked(p)
            loaded.remove(p)
        }
        for p in parts { caughtUp[p.partition] = nil }
    }
}

/// An input partition lost offsets the state had not read (`service.on_retention_gap = "stop"`).
public struct RetentionGapError: Error, CustomStringConvertible {
    public var topic: String
    public var partition: Int32
    public var needed: Int64
    public var firstAvailable: Int64
    public var description: String {
        "retention gap on \(topic)[\(partition)]: the state needs offsets from \(needed), the partition starts at \(firstAvailable) (\(firstAvailable - needed) offsets gone); set service.on_retention_gap = \"continue\" to serve with the rest"
    }
}
