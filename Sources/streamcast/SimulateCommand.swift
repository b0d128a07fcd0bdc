import ArgumentParser
import Foundation
import Events
import Pipeline
import Simulation
import TOMLKit
import Windows

/// `streamcast simulate`: a synthetic event log with known ground truth.
struct SimulateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "simulate",
        abstract: "Write a synthetic retail event log, its ground truth (true quantiles) and the drifts injected.",
        discussion: """
            Beside OUT it writes BASE.truth.csv.gz (product,start,mean,shape,units,q…,elasticity: the \
            true quantiles of every product-period's demand, the units drawn and the product's price \
            elasticity) and BASE.drift.jsonl \
            (which product drifted how, when), where BASE is OUT without .jsonl/.gz.
            """)

    @Option(help: "Number of products.") var products = 100
    @Option(help: "Number of periods.") var periods = 120
    @Option(help: "Period: day or week (hour and month work too).") var period = "day"
    @Option(help: "Random seed (same seed, same bytes).") var seed: UInt64 = 1
    @Option(help: "First period's start (RFC 3339).") var start = "2024-01-01T00:00:00Z"
    @Option(help: "Drift KIND:SHARE@PERIODxFACTOR, kind level|elasticity|seasonality; repeatable (e.g. level:0.2@90x1.8).") var drift: [String] = []
    @Option(help: "Each product's level wanders: log-deviation AR(1) PERSISTENCE:SD (e.g. 0.9:0.1), so misses persist as on real demand; off by default.")
    var levelWander: String?
    @Option(help: "Share of products that sell slowly and intermittently (0 for an aggregate such as store × department).")
    var intermittent = 0.4
    @Option(help: "Range MIN:MAX of the negative binomial shape r (variance μ + μ²/r) drawn per product; larger is steadier demand.")
    var shape = "0.5:4.5"
    @Option(help: "Holiday/event calendar (TOML; default: Config/calendar.toml when present, else no holidays, with a note).") var calendar: String?
    @Option(help: "Parts of the demand structure to leave out, comma-separated: \(DemandStructure.allCases.map(\.rawValue).joined(separator: ", ")). Products, their parameters and the rest of the structure stay those of the full log, so what a model misses shows as the parts go.")
    var without = ""
    @Option(help: "Quantile levels of the truth file.") var truthQuantiles = "0.1,0.5,0.9"
    @Option(help: "Output log (.gz compresses).") var out: String

    func run() throws {
        guard let p = Period(rawValue: period) else { throw ValidationError("--period must be hour, day, week or month") }
        var c = SimulationConfig()
        c.products = products
        c.periods = periods
        c.period = p
        c.seed = seed
        guard let t0 = Timestamp.parse(start) else { throw ValidationError("--start must be RFC 3339") }
        c.start = t0
        c.drifts = try drift.map { text in
            guard let spec = DriftSpec(text) else { throw ValidationError("--drift \(text): expected KIND:SHARE@PERIODxFACTOR, e.g. level:0.2@90x1.8") }
            return spec
        }
        if let text = levelWander {
            guard let w = LevelWander(text) else {
                throw ValidationError("--level-wander \(text): expected PERSISTENCE:SD with persistence in [0, 1) and sd in (0, 1], e.g. 0.9:0.1")
            }
            c.levelWander = w
        }
        guard (0...1).contains(intermittent) else { throw ValidationError("--intermittent \(intermittent): expected a share in [0, 1]") }
        c.mix.intermittentShare = intermittent
        for name in without.split(separator: ",").map({ $0.trimmingCharacters(in: .whitespaces) }) where !name.isEmpty {
            guard let part = DemandStructure(rawValue: name) else {
                throw ValidationError("--without \(name): expected some of \(DemandStructure.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            c.without.insert(part)
        }
        guard let shapes = ProductMix.shapeRange(shape) else {
            throw ValidationError("--shape \(shape): expected MIN:MAX with 0 < MIN ≤ MAX, e.g. 20:60")
        }
        c.mix.shapes = shapes
        let levels = truthQuantiles.split(separator: ",").compactMap { Double($0) }
        guard !levels.isEmpty, levels == levels.sorted(), levels.allSatisfy({ $0 > 0 && $0 < 1 }) else {
            throw ValidationError("--truth-quantiles must be increasing levels in (0, 1)")
        }
        c.truthQuantiles = levels
        if let calendar {
            guard FileManager.default.fileExists(atPath: calendar) else { throw ValidationError("--calendar \(calendar): no such file") }
            c.calendar = try loadCalendar(calendar)
        } else if FileManager.default.fileExists(atPath: TrainCommand.defaultCalendar) {
            c.calendar = try loadCalendar(TrainCommand.defaultCalendar)
        } else {
            warn("no holiday calendar: \(TrainCommand.defaultCalendar) is not here (run from the repository, or --calendar FILE); the log has no holiday effects")
        }
        var base = out
        for suffix in [".gz", ".jsonl"] where base.hasSuffix(suffix) { base.removeLast(suffix.count) }
        let log = try LineWriter(path: out)
        let truth = try LineWriter(path: base + ".truth.csv.gz", level: 1)
        truth.write("product,start,mean,shape,units," + levels.map { "q\($0)" }.joined(separator: ",") + ",elasticity")
        let drifts = try LineWriter(path: base + ".drift.jsonl")
        let started = Date()
        let n = Simulator.generate(c, write: { log.write($0) }, truth: { truth.write($0.csv) }, drift: { drifts.write($0.json) })
        let seconds = Date().timeIntervalSince(started)
        log.close(); truth.close(); drifts.close()
        say("wrote \(n) events for \(products) products over \(periods) \(period)s to \(out) (\(Int(Double(n) / seconds)) events/s); truth: \(base).truth.csv.gz; drifts: \(base).drift.jsonl")
    }
}

/// Reads `[[event]] name, dates = ["YYYY-MM-DD", …], effect, lead_days`.
func loadCalendar(_ path: String) throws -> [CalendarEvent] {
    let table: TOMLTable
    do { table = try TOMLTable(string: try String(contentsOfFile: path, encoding: .utf8)) } catch let e as TOMLParseError {
        throw ValidationError("\(path): not valid TOML at line \(e.source.begin.line): \(e.description)")
    }
    guard let events = table["event"]?.array else { return [] }
    var out: [CalendarEvent] = []
    for (i, item) in events.enumerated() {
        guard let e = item.table, let name = e["name"]?.string, let dates = e["dates"]?.array,
              let effect = e["effect"]?.double ?? e["effect"]?.int.map(Double.init) else {
            throw ValidationError("\(path): event \(i + 1) needs name, dates and effect")
        }
        let lead = e["lead_days"]?.int ?? 2
        for d in dates {
            guard let text = d.string, let ms = Timestamp.parse(text + "T00:00:00Z") else {
                throw ValidationError("\(path): event \(name): dates must be YYYY-MM-DD")
            }
            out.append(CalendarEvent(name: name, day: Int(ms / 86_400_000), effect: effect, leadDays: lead))
        }
    }
    return out
}
