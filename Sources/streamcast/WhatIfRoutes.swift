import Decisions
import Events
import Foundation
import Hummingbird
import Pipeline

/// Price what-ifs on the running service, answered from each product's live state without
/// changing it (docs/decisions.md):
/// - `GET /api/whatif?product=P[&price=X…][&from=DATE][&to=DATE]` (price repeatable): the forecast
///   and recommendation at the current prices and under each planned price;
/// - `GET /api/price-curve?product=P[&from=DATE][&to=DATE][&low=0.7][&high=1.3][&steps=13]`: expected
///   units and revenue over the horizons at prices from low × to high × the current price.
enum WhatIfRoutes {
    static func routes(_ router: Router<BasicRequestContext>, desk: WhatIfDesk) {
        router.get("/api/whatif") { request, _ -> Response in
            let q = request.uri.queryParameters
            let prices = q.getAll("price").compactMap { Double(String($0)) }
            guard let product = q.get("product"), !product.isEmpty, prices.count == q.getAll("price").count, prices.allSatisfy({ $0 > 0 && $0.isFinite }) else {
                return error("needs product=ID and any number of price=X (X > 0; none: the current prices only), optionally from=DATE and to=DATE", .badRequest)
            }
            let window: (from: Int64?, to: Int64?)
            do { window = try dates(q.get("from"), q.get("to")) } catch { return self.error("\(error)", .badRequest) }
            return await respond(desk.ask(product: product, plans: prices.map { PricePlan(price: $0, from: window.from, to: window.to) }), product)
        }
        router.get("/api/price-curve") { request, _ -> Response in
            let q = request.uri.queryParameters
            let low = q.get("low").flatMap { Double($0) } ?? 0.7, high = q.get("high").flatMap { Double($0) } ?? 1.3
            let steps = q.get("steps").flatMap { Int($0) } ?? 13
            guard let product = q.get("product"), !product.isEmpty, low > 0, high > low, (2...101).contains(steps) else {
                return error("needs product=ID; optional low and high (factors of the current price, 0 < low < high), steps in 2...101, from=DATE, to=DATE", .badRequest)
            }
            let window: (from: Int64?, to: Int64?)
            do { window = try dates(q.get("from"), q.get("to")) } catch { return self.error("\(error)", .badRequest) }
            let factors = (0..<steps).map { low + (high - low) * Double($0) / Double(steps - 1) }
            let outcome = await desk.ask(product: product, plans: factors.map { PricePlan.factor($0, from: window.from, to: window.to) })
            guard case .answer(let a) = outcome else { return respond(outcome, product) }
            let price = a.price
            guard price > 0 else { return error("product \(product) has no price yet", .notFound) }
            let points = a.planned.map { s in
                #"{"price":"# + Recommendation.number(s.plan!.price) + #","expected_units":"# + Recommendation.number(s.expectedUnits)
                    + #","expected_revenue":"# + Recommendation.number(s.expectedRevenue) + "}"
            }
            return json(#"{"product":"# + EventEncoder.quote(product) + #","current_price":"# + Recommendation.number(price)
                        + #","points":["# + points.joined(separator: ",") + "]}")
        }
    }

    static func respond(_ outcome: WhatIfDesk.Outcome, _ product: String) -> Response {
        switch outcome {
        case .answer(let a): return json(a.json)
        case .unknownProduct: return error("unknown product \(product) (no closed period here yet, or it is on another instance's partition)", .notFound)
        case .stopped: return error("the service is stopping", .serviceUnavailable)
        }
    }

    /// RFC 3339 times or dates (YYYY-MM-DD, midnight UTC).
    static func dates(_ from: String?, _ to: String?) throws -> (from: Int64?, to: Int64?) {
        func parse(_ s: String?, _ name: String) throws -> Int64? {
            guard let s else { return nil }
            guard let t = Timestamp.parse(s.count == 10 ? s + "T00:00:00Z" : s) else {
                throw ValidationErrorText("\(name)=\(s) is not a date (YYYY-MM-DD) or an RFC 3339 time")
            }
            return t
        }
        let (f, t) = (try parse(from, "from"), try parse(to, "to"))
        if let f, let t, t <= f { throw ValidationErrorText("to must be after from") }
        return (f, t)
    }

    static func json(_ body: String, status: HTTPResponse.Status = .ok) -> Response {
        Response(status: status, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(string: body)))
    }

    static func error(_ message: String, _ status: HTTPResponse.Status) -> Response {
        json(#"{"error":"# + EventEncoder.quote(message) + "}", status: status)
    }
}
