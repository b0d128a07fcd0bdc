import Checkpoint
import Foundation
import Kafka
import Logging
import Metrics

/// When and how the service's state reaches the checkpoint store (Kafka Streams' commit step).
///
/// Protocol (at-least-once output, exactly-once state):
///   1. flush the producer: every forecast and dead letter so far is acknowledged;
///   2. the changed state and the offsets it reflects to the changelog topic, flushed (when one
///      is configured; `ChangelogWriter`), so the changelog is never behind the local file;
///   3. one SQLite transaction: changed state + the offsets it reflects + where the changelog ends;
///   4. commit the same offsets to the group (for lag tooling only).
/// If the flush times out (broker away) the checkpoint is deferred and consumption goes on; a
/// delivery that failed for good stops the service (a restart re-emits from the last checkpoint).
/// A checkpoint that cannot be written (read-only file, full disk, lock held) stops the service or,
/// with `StorageFaultPolicy.retry`, pauses consumption and retries on a fresh connection with
/// backoff; the failed batch is merged into the retry, so no changed product is dropped.
final class Checkpointer {
    let store: CheckpointStore
    let processor: StreamProcessor
    unowned let consumer: KafkaConsumer
    let changelog: ChangelogWriter?
    let config: PipelineConfig
    let logger: Logger
    private var eventsSince = 0
    private var last = Date()
    /// A batch whose commit failed; merged into the next one.
    private var pendingBatch: CheckpointStore.Batch?
    /// Set while checkpoints fail under the retry policy.
    private var outage: (since: Date, attempts: Int, nextAttempt: Date)?
    private let timer = PipelineMetrics.checkpointDuration()
    private let failures = PipelineMetrics.checkpointFailures()
    private let deferred = PipelineMetrics.checkpointsDeferred()
    private let failing = PipelineMetrics.checkpointFailing()

    init(store: CheckpointStore, processor: StreamProcessor, consumer: KafkaConsumer, changelog: ChangelogWriter?,
         config: PipelineConfig, logger: Logger) {
        self.store = store
        self.processor = processor
        self.consumer = consumer
        self.changelog = changelog
        self.config = config
        self.logger = logger
    }

    /// After each poll: checkpoints when enough events or time have passed, or retries a failed
    /// one when its backoff has run out.
    func maybeCheckpoint(afterEvents count: Int) throws {
        eventsSince += count
        if outage != nil {
            if Date() >= outage!.nextAttempt { try retry() }
            return
        }
        guard eventsSince >= config.checkpointEvents || (eventsSince > 0 && Date().timeIntervalSince(last) >= config.checkpointSeconds) else { return }
        do { try checkpoint() } catch let e as CheckpointError {
            try failed(e)
        } catch let e as KafkaError where e.kind == .timeout {
            // The broker is away: outputs are still queued (librdkafka retries them, in order,
            // idempotently). Keep consuming; the next checkpoint tries again, and until one
            // succeeds the stored offsets stay where the stored state is.
            logger.warning("checkpoint deferred: outputs not yet acknowledged", metadata: ["error": "\(e)"])
            deferred.increment()
            last = Date()
        }
    }

    /// State that must reach the file with the next checkpoint (a partition restored from the
    /// changelog while the file could not be written).
    func storeLater(_ batch: CheckpointStore.Batch) {
        pendingBatch = pendingBatch.map { $0.merging(batch) } ?? batch
    }

    /// The last checkpoint of a run (on a fresh connection if the storage was failing).
    func final() throws {
        if outage != nil { try store.reopen() }
        try checkpoint()
    }

    /// Flush outputs, then the changelog, then state + offsets in one transaction, then group offsets.
    /// A batch taken but not stored (changelog not acknowledged, file not written) is kept and
    /// merged into the next attempt.
    func checkpoint() throws {
        let started = DispatchTime.now()
        try processor.sink.flush()
        var batch = processor.checkpointBatch()
        if let pending = pendingBatch { batch = pending.merging(batch) }
        pendingBatch = batch
        if let changelog {
            let written = try changelog.write(batch, from: processor)
            if !written.isEmpty {
                try processor.sink.flush()
                batch.changelog = changelog.positions(written)
                pendingBatch = batch
            }
        }
        try store.commit(batch)
        pendingBatch = nil
        try? consumer.commit(batch.offsets.map { TopicPartitionOffset(topic: $0.topic, partition: $0.partition, offset: $0.next) })
        recordLag()
        timer.recordNanoseconds(Int64(DispatchTime.now().uptimeNanoseconds - started.uptimeNanoseconds))
        eventsSince = 0
        last = Date()
    }

    private func recordLag() {
        let positions = processor.positions  // built once: it is a computed dictionary
        for tp in consumer.assignment {
            guard let high = consumer.highWatermark(topic: tp.topic, partition: tp.partition) else { continue }
            let next = positions[tp.topic]?[tp.partition] ?? 0
            PipelineMetrics.consumerLag(topic: tp.topic, partition: tp.partition).record(max(0, high - next))
        }
    }

    /// A checkpoint could not be written. Exit policy: rethrow (the service stops). Retry policy:
    /// pause the input and try again from `retry` with backoff.
    private func failed(_ error: CheckpointError) throws {
        failures.increment()
        guard case .retry = config.storageFaults else {
            logger.critical("checkpoint failed; stopping (checkpoint.on_error = \"exit\"); a restart resumes from the last checkpoint",
                            metadata: ["error": "\(error)", "state": "\(store.path)"])
            throw error
        }
        logger.error("checkpoint failed; consumption paused, retrying (checkpoint.on_error = \"retry\")",
                     metadata: ["error": "\(error)", "state": "\(store.path)"])
        outage = (Date(), 1, Date().addingTimeInterval(1))
        failing.record(1)
        consumer.pause(consumer.assignment)
    }

    /// One retry under the retry policy: reopen the file, checkpoint; resume the input on success.
    private func retry() throws {
        guard var current = outage, case .retry(let maxSeconds) = config.storageFaults else { return }
        consumer.pause(consumer.assignment)  // the assignment may have changed meanwhile
        do {
            try store.reopen()
            try checkpoint()
            outage = nil
            failing.record(0)
            consumer.resume(consumer.assignment)
            logger.notice("checkpoint written again; consumption resumed",
                          metadata: ["attempts": "\(current.attempts + 1)", "seconds": "\(Int(Date().timeIntervalSince(current.since)))"])
        } catch let error as CheckpointError {
            failures.increment()
            current.attempts += 1
            if maxSeconds > 0 && Date().timeIntervalSince(current.since) >= maxSeconds {
                logger.critical("checkpoint still failing; stopping (checkpoint.retry_max_seconds reached)",
                                metadata: ["error": "\(error)", "attempts": "\(current.attempts)"])
                throw error
            }
            logger.warning("checkpoint retry failed", metadata: ["error": "\(error)", "attempts": "\(current.attempts)"])
            current.nextAttempt = Date().addingTimeInterval(min(30, pow(2, Double(min(current.attempts, 5)) - 1)))
            outage = current
        } catch let error as KafkaError where error.kind == .timeout {
            // The broker is away too: the outputs are not acknowledged yet, so nothing may be
            // stored; try again later (the storage retry budget keeps running).
            logger.warning("checkpoint retry deferred: outputs not yet acknowledged", metadata: ["error": "\(error)"])
            current.nextAttempt = Date().addingTimeInterval(5)
            outage = current
        }
    }
}
