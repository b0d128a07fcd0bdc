import Foundation
import Synchronization
import Hummingbird
import Metrics
import Pipeline
import Prometheus

/// Prometheus metrics for the process: swift-metrics backed by swift-prometheus, served over HTTP
/// (Hummingbird) at /metrics, with /healthz for liveness probes, and the drift dashboard (`/`,
/// `/api/...`). Binds to loopback unless told.
enum MetricsEndpoint {
    static let registry = PrometheusCollectorRegistry()
    private static let bootstrapped = Atomic<Bool>(false)

    /// Routes swift-metrics to the Prometheus registry (once per process).
    static func bootstrap() {
        guard bootstrapped.compareExchange(expected: false, desired: true, ordering: .acquiringAndReleasing).exchanged else { return }
        MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: registry))
    }

    /// The HTTP application serving /metrics and /healthz on `address` (HOST:PORT).
    static func application(address: String, monitor: MonitorHandle = MonitorHandle(), whatIf: WhatIfDesk? = nil) throws -> some ApplicationProtocol {
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
        if let whatIf { WhatIfRoutes.routes(router, desk: whatIf) }
        return Application(router: router, configuration: .init(address: .hostname(String(parts[0]), port: port)))
    }
}

extension MetricsEndpoint {
    /// Fails with an error naming `address` when it cannot be bound (taken, not local, malformed),
    /// before the service starts consuming: a service whose endpoint is down must not look healthy.
    static func checkBindable(_ address: String) throws {
        let parts = address.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 2, let port = UInt16(parts[1]) else {
            throw ValidationErrorText("service.http / --http must be HOST:PORT, got '\(address)'")
        }
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        hints.ai_flags = AI_PASSIVE
        var found: UnsafeMutablePointer<addrinfo>?
        let host = String(parts[0])
        guard getaddrinfo(host.isEmpty ? nil : host, String(port), &hints, &found) == 0, let info = found else {
            throw ValidationErrorText("cannot serve HTTP on \(address): unknown host '\(host)' (service.http / --http)")
        }
        defer { freeaddrinfo(found) }
        let fd = socket(info.pointee.ai_family, info.pointee.ai_socktype, info.pointee.ai_protocol)
        guard fd >= 0 else { throw ValidationErrorText("cannot serve HTTP on \(address): \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        var one: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        if bind(fd, info.pointee.ai_addr, info.pointee.ai_addrlen) != 0 {
            let reason = String(cString: strerror(errno))
            throw ValidationErrorText("cannot serve HTTP on \(address): \(reason) (another process may be listening there; choose another with --http or service.http)")
        }
    }
}

struct ValidationErrorText: Error, CustomStringConvertible {
    let description: String
    init(_ d: String) { description = d }
}
