import Metrics

/// Every metric StreamCast reports, in one place: the names and labels Prometheus shows
/// (docs/operations.md). Each call makes the handle (swift-metrics hands back the same series for
/// the same label and dimensions), so a caller on a hot path keeps the one it needs.
enum PipelineMetrics {
    // Events and forecasts (StreamProcessor).
    static func events(kind: String) -> Counter { Counter(label: "streamcast_events_total", dimensions: [("kind", kind)]) }
    static func deadLetters(reason: String) -> Counter { Counter(label: "streamcast_dead_letters_total", dimensions: [("reason", reason)]) }
    static func lateEvents(input: String) -> Counter { Counter(label: "streamcast_late_events_total", dimensions: [("input", input)]) }
    static func forecasts() -> Counter { Counter(label: "streamcast_forecasts_total") }
    static func recommendations() -> Counter { Counter(label: "streamcast_recommendations_total") }
    /// Time per batched refresh call (a histogram in Prometheus).
    static func refreshDuration() -> Timer { Timer(label: "streamcast_refresh_duration") }
    static func earlyRefreshes(trigger: String) -> Counter { Counter(label: "streamcast_early_refreshes_total", dimensions: [("trigger", trigger)]) }

    // Checkpoints and inputs (Checkpointer, KafkaService).
    static func checkpointDuration() -> Timer { Timer(label: "streamcast_checkpoint_duration") }
    static func checkpointFailures() -> Counter { Counter(label: "streamcast_checkpoint_failures_total") }
    static func checkpointsDeferred() -> Counter { Counter(label: "streamcast_checkpoints_deferred_total") }
    static func checkpointFailing() -> Gauge { Gauge(label: "streamcast_checkpoint_failing") }
    static func consumerLag(topic: String, partition: Int32) -> Gauge {
        Gauge(label: "streamcast_consumer_lag", dimensions: [("topic", topic), ("partition", String(partition))])
    }
    static func retentionGapOffsets(topic: String) -> Counter { Counter(label: "streamcast_retention_gap_offsets_total", dimensions: [("topic", topic)]) }

    // Partition state restored on assignment (PartitionRestore): from the local file, the
    // changelog, or nothing (a partition never served anywhere).
    static func stateRestores(source: String) -> Counter { Counter(label: "streamcast_state_restores_total", dimensions: [("source", source)]) }
    static func stateRestoreDuration() -> Timer { Timer(label: "streamcast_state_restore_duration") }
    static func changelogFailures() -> Counter { Counter(label: "streamcast_changelog_restore_failures_total") }

    // Model reloads (ModelReloader).
    static func modelReloads(result: String) -> Counter { Counter(label: "streamcast_model_reloads_total", dimensions: [("result", result)]) }

    // Drift monitoring (DriftOutput).
    static func driftAlerts(scope: String, status: String) -> Counter {
        Counter(label: "streamcast_drift_alerts_total", dimensions: [("scope", scope), ("status", status)])
    }
    static func coverage(quantile: Double) -> Gauge { Gauge(label: "streamcast_coverage", dimensions: [("quantile", String(quantile))]) }
    static func wql() -> Gauge { Gauge(label: "streamcast_wql") }
    static func bias() -> Gauge { Gauge(label: "streamcast_bias") }
    static func volatility() -> Gauge { Gauge(label: "streamcast_volatility") }
    static func activeDriftAlerts(scope: String) -> Gauge { Gauge(label: "streamcast_drift_alerts_active", dimensions: [("scope", scope)]) }
}
