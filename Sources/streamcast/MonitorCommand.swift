import ArgumentParser
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Monitoring

/// `streamcast monitor`: the dashboard's essentials in a terminal, read from a running service's
/// JSON endpoints (`--http` of `streamcast run`).
struct MonitorCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "monitor", abstract: "Fleet calibration, accuracy, bias and the top drifting products of a running service.")
    @Option(help: "The service's HTTP address.") var http = "127.0.0.1:8080"
    @Option(help: "Products to list.") var top = 10
    @Option(help: "Refresh every N seconds (0: print once).") var watch = 0.0

    func run() throws {
        repeat {
            try show()
            if watch > 0 { Thread.sleep(forTimeInterval: watch) }
        } while watch > 0
    }

    func fetch<T: Decodable>(_ path: String, as: T.Type) throws -> T? {
        guard let url = URL(string: "http://\(http)\(path)") else { throw ValidationError("bad --http \(http)") }
        let data: Data
        do { data = try Data(contentsOf: url) } catch { throw ValidationError("cannot reach the service at http://\(http): \(error.localizedDescription)") }
        return try? JSONDecoder().decode(T.self, from: data)
    }

    func show() throws {
        guard let fleet = try fetch("/api/fleet", as: ForecastMonitor.ScopeView.self) else {
            say("no forecasts scored yet")
            return
        }
        say(String(format: "fleet: %d periods, %.0f scored forecasts — mean wQL %.4f, bias %+.3f, volatility %.4f", fleet.periods.count, fleet.cells,
                   fleet.windowWQL, fleet.windowBias, fleet.windowVolatility))
        say("  calibration: " + zip(fleet.quantiles, fleet.windowCoverage).map { String(format: "P%.0f %.3f (nominal %.2f)%@", $0 * 100, $1, $0, abs($1 - $0) > 0.05 ? " !" : "") }.joined(separator: "   "))
        say("  active fleet alerts: " + (fleet.activeAlerts.isEmpty ? "none" : fleet.activeAlerts.joined(separator: ", ")))
        let products = try fetch("/api/top?n=\(top)", as: [ForecastMonitor.ProductView].self) ?? []
        // Columns padded in Swift: Foundation on Linux ignores widths of %@.
        let coverageTitle = "coverage " + fleet.quantiles.map { String(format: "P%.0f", $0 * 100) }.joined(separator: "/")
        say(column("product", 16, left: true) + " " + column("bias", 8) + "  " + column(coverageTitle, 24) + "  state")
        for p in products {
            say(column(p.product, 16, left: true) + " " + column(String(format: "%+.3f", p.bias), 8) + "  "
                + column(p.coverage.map { String(format: "%.2f", $0) }.joined(separator: " / "), 24) + "  " + (p.alarmed ? "DRIFTING" : "ok"))
        }
    }
}

/// `text` padded with spaces to `width` characters (right-aligned unless `left`).
func column(_ text: String, _ width: Int, left: Bool = false) -> String {
    let pad = String(repeating: " ", count: max(0, width - text.count))
    return left ? text + pad : pad + text
}
