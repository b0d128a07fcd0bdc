import Foundation
import Hummingbird
import Metrics
import Prometheus

/// Prometheus metrics for the process: swift-metrics backed by swift-prometheus, served over HTTP
/// (Hummingbird) at /metrics, with /healthz for liveness probes, and the drift dashboard (`/`,
/// `/api/...`). Binds to loopback unless told.
enum MetricsEndpoint {
    static let registry = PrometheusCollectorRegistry()
    nonisolated(unsafe) private static var bootstrapped = false

    /// Routes swift-metrics to the Prometheus registry (once per process).
    static func bootstrap() {
        guard !bootstrapped else { return }
        bootstrapped = true
        MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: registry))
    }

    /// The HTTP application serving /metrics and /healthz on `address` (HOST:PORT).
    static func application(address: String, monitor: MonitorHandle = MonitorHandle()) throws -> some ApplicationProtocol {
        let parts = address.split(separator: ":")
        guard parts.count == 2, let port = Int(parts[1]) else {
            throw ValidationErrorText("--http must be HOST:PORT, got \(address)")
        }
        let router = Router()
        router.get("/metrics") { _, _ -> Response in
            var buffer = [UInt8]()
            registry.emit(into: &buffer)
            return Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4"],
                            body: .init(byteBuffer: ByteBuffer(bytes: buffer)))
        }
        router.get("/healthz") { _, _ in "ok\n" }
        Dashboard.routes(router, handle: monitor)
        return Application(router: router, configuration: .init(address: .hostname(String(parts[0]), port: port)))
    }
}

struct ValidationErrorText: Error, CustomStringConvertible {
    let description: String
    init(_ d: String) { description = d }
}
