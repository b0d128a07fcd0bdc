import Forecasting
import Foundation
import Logging
import Metrics

/// Hot model reload: on request (SIGHUP) or when the model file changes, loads the new model off
/// the consume thread, checks it can take over the running state, and hands it to the consume loop,
/// which switches between two polls: no state is lost and consumption never stops. A model that
/// cannot take over (other horizons, memory size, period, ...) is refused with one log line and
/// the serving model stays.
/// Unchecked Sendable: every mutable field is behind `lock` (the watcher thread hands models to the pipeline thread).
public final class ModelReloader: @unchecked Sendable {
    public let path: String
    let windowLength: Int
    let quantiles: [Double]
    /// Wraps a model as the service serves it (error memory and recalibration switches).
    let serve: @Sendable (MQModel) -> any Forecaster
    let logger: Logger
    private let queue = DispatchQueue(label: "streamcast.model-reload")
    private let lock = NSLock()
    private var current: MQModel
    private var pending: (any Forecaster)?
    private var stamp: FileStamp?
    private var timer: DispatchSourceTimer?

    struct FileStamp: Equatable { var modified: Date; var size: Int }

    public init(path: String, serving model: MQModel, windowLength: Int, quantiles: [Double], logger: Logger,
                serve: @escaping @Sendable (MQModel) -> any Forecaster) {
        self.path = path
        current = model
        self.windowLength = windowLength
        self.quantiles = quantiles
        self.logger = logger
        self.serve = serve
        stamp = Self.stamp(path)
    }

    static func stamp(_ path: String) -> FileStamp? {
        guard let a = try? FileManager.default.attributesOfItem(atPath: path),
              let m = a[.modificationDate] as? Date, let s = a[.size] as? Int else { return nil }
        return FileStamp(modified: m, size: s)
    }

    /// Watches the file every `seconds` (0: only explicit requests).
    public func watch(every seconds: Double) {
        guard seconds > 0 else { return }
        let t = DispatchSource.makeTimerSource(queue: queue)
        t.schedule(deadline: .now() + seconds, repeating: seconds)
        t.setEventHandler { [weak self] in
            guard let self, let now = Self.stamp(self.path), now != self.stamp else { return }
            self.stamp = now
            self.load(reason: "model file changed")
        }
        t.resume()
        timer = t
    }

    /// Asks for a reload (e.g. on SIGHUP); the work happens on the reloader's queue.
    public func request(reason: String = "SIGHUP") {
        queue.async { [self] in
            stamp = Self.stamp(path)
            load(reason: reason)
        }
    }

    /// The forecaster to switch to, once (called by the consume loop between polls).
    public func take() -> (any Forecaster)? {
        lock.lock()
        defer { lock.unlock() }
        let f = pending
        pending = nil
        return f
    }

    private func load(reason: String) {
        let model: MQModel
        do { model = try MQModel.load(from: path) } catch {
            refuse("\(error)", reason: reason)
            return
        }
        lock.lock()
        let serving = current
        lock.unlock()
        if let why = model.incompatibility(replacing: serving, windowLength: windowLength, quantiles: quantiles) {
            refuse("\(model.id): \(why)", reason: reason)
            return
        }
        lock.lock()
        current = model
        pending = serve(model)
        lock.unlock()
        PipelineMetrics.modelReloads(result: "loaded").increment()
        logger.info("model reload: switching", metadata: ["from": "\(serving.id)", "to": "\(model.id)", "reason": "\(reason)"])
    }

    private func refuse(_ why: String, reason: String) {
        PipelineMetrics.modelReloads(result: "refused").increment()
        logger.error("model reload refused: \(why); still serving \(current.id)", metadata: ["path": "\(path)", "reason": "\(reason)"])
    }
}
