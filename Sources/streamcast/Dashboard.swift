import Foundation
import Hummingbird
import Monitoring
import Synchronization

/// The service's monitor, for the HTTP thread (set once the pipeline exists), and the period its
/// indices count (the page turns them into dates).
final class MonitorHandle: Sendable {
    private let value = Mutex<ForecastMonitor?>(nil)
    let period: String
    init(period: String = "day") { self.period = period }
    var monitor: ForecastMonitor? {
        get { value.withLock { $0 } }
        set { value.withLock { $0 = newValue } }
    }
}

/// JSON endpoints of the drift monitor and the dashboard page that draws them.
enum Dashboard {
    static func routes(_ router: Router<BasicRequestContext>, handle: MonitorHandle) {
        router.get("/api/fleet") { request, _ -> Response in
            let key = request.uri.queryParameters.get("scope") ?? "global"
            guard let view = handle.monitor?.view(scope: key) else { return json(["error": "no forecasts scored yet for \(key)"], status: .notFound) }
            return json(view)
        }
        router.get("/api/scopes") { _, _ -> Response in json(handle.monitor?.scopeKeys ?? []) }
        router.get("/api/meta") { _, _ -> Response in json(["period": handle.period]) }
        router.get("/api/alerts") { _, _ -> Response in json(handle.monitor?.openAlerts() ?? []) }
        router.get("/api/top") { request, _ -> Response in
            let n = request.uri.queryParameters.get("n").flatMap { Int($0) } ?? 20
            return json(handle.monitor?.topDrifting(min(max(n, 1), 1000)) ?? [])
        }
        router.get("/api/product/:id") { _, context -> Response in
            let id = context.parameters.get("id") ?? ""
            guard let view = handle.monitor?.product(id) else { return json(["error": "unknown product \(id)"], status: .notFound) }
            return json(view)
        }
        router.get("/") { _, _ -> Response in
            Response(status: .ok, headers: [.contentType: "text/html; charset=utf-8"], body: .init(byteBuffer: ByteBuffer(string: page)))
        }
    }

    static func json<T: Encodable>(_ value: T, status: HTTPResponse.Status = .ok) -> Response {
        let encoder = JSONEncoder()
        encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        let data = (try? encoder.encode(value)) ?? Data("{}".utf8)
        return Response(status: status, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }

    /// One self-contained page (Resources/dashboard.html, compiled into the binary): no external
    /// scripts, polls the JSON endpoints every 5 s.
    static let page = String(decoding: PackageResources.dashboard_html, as: UTF8.self)
}

