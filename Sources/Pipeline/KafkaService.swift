import Checkpoint
import Forecasting
import Foundation
import Kafka
import Logging
import Metrics
import Monitoring

/// The service loop: Kafka source → processor → Kafka sink, with checkpoints.
///
/// Checkpoint protocol (at-least-once output, exactly-once state):
///   1. flush the producer: every forecast and dead letter so far is acknowledged;
///   2. one SQLite transaction: changed state + the offsets it reflects;
///   3. commit the same offsets to the group (for lag tooling only).
/// If the flush times out (broker away) the checkpoint is deferred and consumption goes on; a
/// delivery that failed for good stops the service (a restart re-emits from the last checkpoint).
/// A checkpoint that cannot be written (read-only file, full disk, lock held) stops the service or,
/// with `StorageFaultPolicy.retry`, pauses consumption and retries on a fresh connection; the
/// failed batch is merged into the retry, so no changed product is dropped.
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
    private var loaded = Set<Int32>()
    private var eventsSinceCheckpoint = 0
    private var lastCheckpoint = Date()
    /// Hot model reload (nil: the forecaster is fixed for the run).
    public var reloader: ModelReloader?
    private let checkpointTimer = Timer(label: "streamcast_checkpoint_duration")
    /// A batch whose commit failed; merged into the next one.
    private var pendingBatch: CheckpointStore.Batch?
    /// Set while checkpoints fail under the retry policy.
    private var storageOutage: (since: Date, attempts: Int, nextAttempt: Date)?
    private let checkpointFailures = Counter(label: "streamcast_checkpoint_failures_total")
    private let storageFailing = Gauge(label: "streamcast_checkpoint_failing")

    public init(config: PipelineConfig, kafka: KafkaConfig, statePath: String, groupID: String,
                forecaster: (any Forecaster)? = nil, logger: Logger = Logger(label: "streamcast.service")) throws {
        self.config = config
        self.kafka = kafka
        self.logger = logger
        store = try CheckpointStore(path: statePath)
        try store.bind(fingerprint: config.fingerprint)
        var producerConfig = kafka
        producerConfig["partitioner"] = producerConfig["partitioner"] ?? "murmur2_random"
        producer = try KafkaProducer(config: producerConfig)
        processor = try StreamProcessor(config: config, sink: KafkaSink(producer: producer, topics: config.topics), forecaster: forecaster)
        let layout = processor.forecaster.stateLayout
        if let old = try store.bind(forecasterState: layout) {
            logger.warning("forecaster state reset: the checkpoint's per-product states are of another layout; every product keeps its window and starts a fresh memory",
                           metadata: ["was": "\(old)", "now": "\(layout)"])
        }
        var consumerConfig = kafka
        consumerConfig["group.id"] = groupID
        consumer = try KafkaConsumer(config: consumerConfig, logger: logger,
                                     onAssign: { [unowned self] in try self.assigned($0) },
                                     onRevoke: { [unowned self] in self.revoked($0) })
    }

    public var stats: StreamProcessor.Stats { processor.stats }
    public var monitor: ForecastMonitor? { processor.monitor }
    /// The id of the forecaster serving now (a model id, or a baseline's name).
    public var forecasterID: String { processor.forecaster.id }

    /// Consumes until `shouldStop` returns true, then checkpoints and leaves the group.
    public func run(shouldStop: () -> Bool) throws {
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
                    let record = SourceRecord(topic: m.topic, partition: m.partition, offset: m.offset, key: m.key)
                    try m.value.withUnsafeBytes { try processor.process(record, value: $0) }
                case .endOfPartition(let topic, let partition, _):
                    try processor.inputCaughtUp(topic, partition: partition)
                }
            }
            eventsSinceCheckpoint += batch.count
            producer.poll()
            if let outage = storageOutage {
                if Date() >= outage.nextAttempt { try retryCheckpoint() }
            } else if eventsSinceCheckpoint >= config.checkpointEvents
                || (eventsSinceCheckpoint > 0 && Date().timeIntervalSince(lastCheckpoint) >= config.checkpointSeconds) {
                do { try checkpoint() } catch let e as CheckpointError {
                    try checkpointFailed(e)
                } catch let e as KafkaError where e.kind == .timeout {
                    // The broker is away: outputs are still queued (librdkafka retries them, in
                    // order, idempotently). Keep consuming; the next checkpoint tries again, and
                    // until one succeeds the stored offsets stay where the stored state is.
                    logger.warning("checkpoint deferred: outputs not yet acknowledged", metadata: ["error": "\(e)"])
                    Counter(label: "streamcast_checkpoints_deferred_total").increment()
                    lastCheckpoint = Date()
                }
            }
        }
        if storageOutage != nil { try store.reopen() }
        try checkpoint()
        consumer.close()
        producer.close()
    }

    /// A checkpoint could not be written. Exit policy: rethrow (the service stops). Retry policy:
    /// pause the input and try again from `retryCheckpoint` with backoff.
    private func checkpointFailed(_ error: CheckpointError) throws {
        checkpointFailures.increment()
        guard case .retry = config.storageFaults else {
            logger.critical("checkpoint failed; stopping (checkpoint.on_error = \"exit\"); a restart resumes from the last checkpoint",
                            metadata: ["error": "\(error)", "state": "\(store.path)"])
            throw error
        }
        logger.error("checkpoint failed; consumption paused, retrying (checkpoint.on_error = \"retry\")",
                     metadata: ["error": "\(error)", "state": "\(store.path)"])
        storageOutage = (Date(), 1, Date().addingTimeInterval(1))
        storageFailing.record(1)
        consumer.pause(consumer.assignment)
    }

    /// One retry under the retry policy: reopen the file, checkpoint; resume the input on success.
    private func retryCheckpoint() throws {
        guard var outage = storageOutage, case .retry(let maxSeconds) = config.storageFaults else { return }
        consumer.pause(consumer.assignment)  // the assignment may have changed meanwhile
        do {
            try store.reopen()
            try checkpoint()
            storageOutage = nil
            storageFailing.record(0)
            consumer.resume(consumer.assignment)
            logger.notice("checkpoint written again; consumption resumed",
                          metadata: ["attempts": "\(outage.attempts + 1)", "seconds": "\(Int(Date().timeIntervalSince(outage.since)))"])
        } catch let error as CheckpointError {
            checkpointFailures.increment()
            outage.attempts += 1
            let waited = Date().timeIntervalSince(outage.since)
            if maxSeconds > 0 && waited >= maxSeconds {
                logger.critical("checkpoint still failing; stopping (checkpoint.retry_max_seconds reached)",
                                metadata: ["error": "\(error)", "attempts": "\(outage.attempts)"])
                throw error
            }
            logger.warning("checkpoint retry failed", metadata: ["error": "\(error)", "attempts": "\(outage.attempts)"])
            outage.nextAttempt = Date().addingTimeInterval(min(30, pow(2, Double(min(outage.attempts, 5)) - 1)))
            storageOutage = outage
        } catch let error as KafkaError where error.kind == .timeout {
            // The broker is away too: the outputs are not acknowledged yet, so nothing may be
            // stored; try again later (the storage retry budget keeps running).
            logger.warning("checkpoint retry deferred: outputs not yet acknowledged", metadata: ["error": "\(error)"])
            outage.nextAttempt = Date().addingTimeInterval(5)
            storageOutage = outage
        }
    }

    /// Flush outputs, then state + offsets in one transaction, then group offsets.
    public func checkpoint() throws {
        let started = DispatchTime.now()
        try processor.sink.flush()
        var batch = processor.checkpointBatch()
        if let pending = pendingBatch { batch = pending.merging(batch) }
        do { try store.commit(batch) } catch {
            pendingBatch = batch
            throw error
        }
        pendingBatch = nil
        try? consumer.commit(batch.offsets.map { TopicPartitionOffset(topic: $0.topic, partition: $0.partition, offset: $0.next) })
        let positions = processor.positions  // built once: it is a computed dictionary
        for tp in consumer.assignment {
            guard let high = consumer.highWatermark(topic: tp.topic, partition: tp.partition) else { continue }
            let next = positions[tp.topic]?[tp.partition] ?? 0
            Gauge(label: "streamcast_consumer_lag", dimensions: [("topic", tp.topic), ("partition", String(tp.partition))])
                .record(max(0, high - next))
        }
        checkpointTimer.recordNanoseconds(Int64(DispatchTime.now().uptimeNanoseconds - started.uptimeNanoseconds))
        eventsSinceCheckpoint = 0
        lastCheckpoint = Date()
    }

    /// Restores each new partition's state; a partition that cannot be restored stops the service
    /// (the error leaves `run`): serving it from an empty state would silently forget its history.
    private func assigned(_ parts: [TopicPartitionOffset]) throws -> [TopicPartitionOffset] {
        for p in Set(parts.map(\.partition)).sorted() where !loaded.contains(p) {
            do {
                try processor.restore(partition: p, from: store)
            } catch {
                logger.critical("cannot restore partition state; stopping", metadata: ["partition": "\(p)", "state": "\(store.path)", "error": "\(error)"])
                throw error
            }
            processor.register(partition: p, inputs: parts.filter { $0.partition == p }.map(\.topic))
            loaded.insert(p)
        }
        // Start where the checkpoint says; with no checkpoint for a partition, from its beginning.
        let positions = processor.positions
        return parts.map { tp in
            TopicPartitionOffset(topic: tp.topic, partition: tp.partition,
                                 offset: positions[tp.topic]?[tp.partition] ?? KafkaOffset.beginning)
        }
    }

    private func revoked(_ parts: [TopicPartitionOffset]) {
        do { try checkpoint() } catch {
            logger.error("checkpoint on revoke failed; state will be re-read from the last checkpoint", metadata: ["error": "\(error)"])
        }
        for p in Set(parts.map(\.partition)) {
            processor.unload(partition: p)
            loaded.remove(p)
        }
    }
}
