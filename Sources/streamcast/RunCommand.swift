import ArgumentParser
import Foundation
import Forecasting
import Kafka
import Logging
import Pipeline
import ServiceLifecycle
import Synchronization

/// `streamcast run`: the service. Consume, window, forecast, produce, checkpoint; stops gracefully
/// on SIGTERM/SIGINT (final checkpoint, leave the group).
struct RunCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "run", abstract: "Run the forecasting service against Kafka.")

    @OptionGroup var options: PipelineOptions
    @Option(help: "Serve /metrics and /healthz on ADDR:PORT (default from config: 127.0.0.1:8080).") var http: String?
    @Flag(help: "Create missing input, forecast, dead-letter, drift, recommendations and changelog (compacted) topics, topics.partitions partitions each, before starting.") var createTopics = false

    func run() async throws {
        var settings = try options.settings()
        if let http { settings.http = http }
        let logger = Logger(label: "streamcast")
        MetricsEndpoint.bootstrap()
        try MetricsEndpoint.checkBindable(settings.http)
        if createTopics {
            let t = settings.pipeline.topics
            let kafka = settings.kafkaConfig(bootstrap: nil)
            var created = try KafkaAdmin.createTopics(config: kafka, topics: t.inputs + [t.forecasts, t.deadLetter, t.drift, t.recommendations],
                                                      partitions: settings.pipeline.partitions)
            if let changelog = t.changelog {
                created += try KafkaAdmin.createTopics(config: kafka, topics: [changelog], partitions: settings.pipeline.partitions,
                                                       topicConfig: Topics.changelogTopicConfig)
            }
            logger.info("topics created", metadata: ["topics": "\(created)"])
        }
        let service = try ForecastService(settings: settings, logger: logger)
        let pidFile = try PidFile(statePath: settings.statePath)
        defer { pidFile.remove() }
        try await serve(service, http: settings.http, logger: logger)
        let stats = service.service.stats
        say("stopped: \(stats.events) events, \(stats.forecasts) forecasts, dead letters \(stats.deadLetters)")
    }
}

/// Runs the forecasting service and its HTTP endpoint (metrics, health, dashboard) until SIGINT or
/// SIGTERM (a graceful stop: final checkpoint, leave the group) or until either fails. A failure of
/// one stops the other, and the error leaves here, so the process exits non-zero.
func serve(_ service: ForecastService, http: String, logger: Logger) async throws {
    let handle = MonitorHandle(period: service.service.config.windows.period.rawValue)
    handle.monitor = service.service.monitor
    let web = try MetricsEndpoint.application(address: http, monitor: handle, whatIf: service.service.whatIf)
    let group = ServiceGroup(configuration: .init(services: [.init(service: service), .init(service: web)], logger: logger))
    for signal in [SIGINT, SIGTERM] {
        Signals.on(signal) {
            logger.notice("stopping (signal \(signal))")
            Task { await group.triggerGracefulShutdown() }
        }
    }
    do { try await group.run() } catch {
        logger.critical("stopped on error", metadata: ["error": "\(error)"])
        throw error
    }
}

/// The Kafka service as a swift-service-lifecycle Service. The consume loop is blocking (librdkafka
/// polls), so it runs on its own thread; graceful shutdown sets the stop flag. Unchecked because
/// the service it wraps is used by that one thread only; `stop` is the only shared state.
final class ForecastService: Service, @unchecked Sendable {
    let service: KafkaService
    let stop = StopFlag()
    let logger: Logger
    /// Called after each poll of the consume loop; returning true stops the service (the demo).
    var afterPoll: (() -> Bool)?

    init(settings: Settings, logger: Logger) throws {
        self.logger = logger
        var pipeline = settings.pipeline
        let models = try loadModels(settings)
        let forecaster = models.isEmpty ? try makeForecaster(settings) : settings.serving(models)
        pipeline.windows.length = max(pipeline.windows.length, forecaster.contextLength)
        service = try KafkaService(config: pipeline, kafka: settings.kafkaConfig(bootstrap: nil),
                                   statePath: settings.statePath, groupID: settings.group, instanceID: settings.instance,
                                   forecaster: forecaster, logger: logger)
        if models.count > 1 {
            logger.notice("serving an ensemble of \(models.count) models; hot reload is for single models (restart to change the ensemble)")
        }
        if models.count == 1, let model = models.first, let path = settings.modelFile {
            let reloader = ModelReloader(path: path, serving: model, windowLength: pipeline.windows.length,
                                         quantiles: pipeline.quantiles, logger: logger) { settings.serving([$0]) }
            reloader.watch(every: settings.reloadPollSeconds)
            Signals.on(SIGHUP) { reloader.request() }
            service.reloader = reloader
        }
        logger.info("kafka", metadata: ["properties": "\(settings.kafkaConfig(bootstrap: nil).redacted)"])
    }

    /// The consume loop runs on its own thread; a graceful shutdown or a cancellation (the HTTP
    /// endpoint failed) sets the stop flag, which the loop reads after every poll.
    func run() async throws {
        try await withTaskCancellationHandler {
            try await withGracefulShutdownHandler {
                try await withCheckedThrowingContinuation { (done: CheckedContinuation<Void, Error>) in
                    let thread = Thread { [self] in
                        do {
                            try service.run { stop.isStopped || (afterPoll?() ?? false) }
                            done.resume()
                        } catch {
                            done.resume(throwing: error)
                        }
                    }
                    thread.name = "streamcast-consume"
                    thread.start()
                }
            } onGracefulShutdown: { [stop] in
                stop.stop()
            }
        } onCancel: { [stop] in
            stop.stop()
        }
    }
}
