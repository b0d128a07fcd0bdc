import Events
import Foundation
import Pipeline

/// Converts public demand datasets, as downloaded (docs/datasets.md), into replay logs.
///
/// | dataset | product | sales (units) | prices | categories | calendar |
/// |---|---|---|---|---|---|
/// | walmart | `S<store>-D<dept>` | `Weekly_Sales` at the file's Date (a Friday, inside StreamCast's Monday week) | price 1 with `promo` = any MarkDown > 0 that week, announced 4 weeks ahead; MarkDown1–5 as extra fields | `D<dept>` | `IsHoliday` weeks |
/// | stallion | `<agency>\|<sku>` | `volume` on the 1st of the month | `price_actual`, `promo` = discount ≥ 10 %, announced 92 days ahead (known at every FCT of a 3-month horizon); `discount_in_percent` extra | `<sku>` | the 12 event flags |
/// | carparts | the column name | the value on the 1st of the month (complete series only) | — | — | — |
public enum DatasetConverter {
    public enum Name: String, CaseIterable, Sendable { case walmart, stallion, carparts }

    public struct Summary: Sendable {
        public var events = 0
        public var products = 0
        /// Calendar events (name → dates YYYY-MM-DD) the dataset carries.
        public var calendar: [String: [String]] = [:]
    }

    /// Writes the log lines (in event-time order) through `write`.
    public static func convert(_ name: Name, dataDirectory: String, write: (String) -> Void) throws -> Summary {
        var events: [(ts: Int64, order: Int, line: String)] = []
        var summary = Summary()
        func add(_ e: Event, extra: String = "") {
            var line = EventEncoder.json(e)
            if !extra.isEmpty { line.removeLast(); line += "," + extra + "}" }
            events.append((e.time, events.count, line))
        }
        switch name {
        case .walmart: summary = try walmart(dataDirectory, add)
        case .stallion: summary = try stallion(dataDirectory, add)
        case .carparts: summary = try carparts(dataDirectory, add)
        }
        events.sort { ($0.ts, $0.order) < ($1.ts, $1.order) }
        for e in events { write(e.line) }
        summary.events = events.count
        return summary
    }

    static func day(_ text: String) throws -> Int64 {
        guard let t = Timestamp.parse(String(text.prefix(10)) + "T00:00:00Z") else { throw DatasetError("bad date \(text)") }
        return t
    }

    static let dayMs: Int64 = 86_400_000

    static func walmart(_ dir: String, _ add: (Event, String) -> Void) throws -> Summary {
        let base = dir + "/walmart_store_dept_weekly"
        // Store-week markdowns (promotions), NA → 0.
        var markdowns: [String: [Double]] = [:]
        let features = try String(contentsOfFile: base + "/features.csv", encoding: .utf8).split(separator: "\n")
        let fh = CSV.header(features[0])
        for line in features.dropFirst() {
            let f = CSV.fields(line)
            markdowns["\(f[fh["Store"]!])|\(f[fh["Date"]!])"] = (1...5).map { Double(f[fh["MarkDown\($0)"]!]) ?? 0 }
        }
        let train = String(decoding: try ZipEntry.firstFile(base + "/train.csv.zip"), as: UTF8.self).split(separator: "\n")
        let h = CSV.header(train[0])
        var products = Set<String>()
        var holidays = Set<String>()
        var lastPromo: [String: String] = [:]
        for line in train.dropFirst() {
            let f = CSV.fields(line)
            let store = f[h["Store"]!], dept = f[h["Dept"]!], date = f[h["Date"]!]
            guard let sales = Double(f[h["Weekly_Sales"]!]) else { throw DatasetError("walmart: bad Weekly_Sales in \(line)") }
            let product = "S\(store)-D\(dept)", t = try day(date)
            products.insert(product)
            if f[h["IsHoliday"]!].uppercased() == "TRUE" { holidays.insert(date) }
            add(Event(kind: .sale, product: product, time: t, quantity: sales, category: "D\(dept)"), "")
            // A price event whenever the store's markdowns change, announced 4 weeks ahead.
            let md = markdowns["\(store)|\(date)"] ?? [0, 0, 0, 0, 0]
            let key = md.map { EventEncoder.number($0) }.joined(separator: ",")
            if lastPromo[product] != key {
                lastPromo[product] = key
                let extra = md.enumerated().map { "\"markdown\($0.offset + 1)\":\(EventEncoder.number($0.element))" }.joined(separator: ",")
                add(Event(kind: .price, product: product, time: t - 28 * dayMs, quantity: 1, effective: t,
                          promo: md.contains { $0 > 0 }, category: "D\(dept)"), extra)
            }
        }
        var s = Summary()
        s.products = products.count
        s.calendar["walmart_holiday"] = holidays.sorted()
        return s
    }

    static let stallionFlags = ["easter_day", "good_friday", "new_year", "christmas", "labor_day", "independence_day",
                                "revolution_day_memorial", "regional_games", "fifa_u_17_world_cup", "football_gold_cup",
                                "beer_capital", "music_fest"]

    static func stallion(_ dir: String, _ add: (Event, String) -> Void) throws -> Summary {
        let reader = try ReplayReader(path: dir + "/stallion/stallion.csv.gz")
        var header: [String: Int]?
        var products = Set<String>()
        var calendar: [String: Set<String>] = [:]
        try reader.forEachLine { raw, _ in
            let line = Substring(String(decoding: raw, as: UTF8.self))
            guard let h = header else { header = CSV.header(line); return }
            let f = CSV.fields(line)
            let product = f[h["agency"]!] + "|" + f[h["sku"]!], date = f[h["date"]!], t = try day(date)
            guard let volume = Double(f[h["volume"]!]), let price = Double(f[h["price_actual"]!]),
                  let discount = Double(f[h["discount_in_percent"]!]) else { throw DatasetError("stallion: bad row \(line)") }
            products.insert(product)
            add(Event(kind: .sale, product: product, time: t, quantity: volume, category: f[h["sku"]!]), "")
            if price > 0 {
                add(Event(kind: .price, product: product, time: t - 92 * dayMs, quantity: price, effective: t,
                          promo: discount >= 10, category: f[h["sku"]!]), "\"discount_in_percent\":\(discount)")
            }
            for flag in stallionFlags where (Double(f[h[flag]!]) ?? 0) > 0 { calendar[flag, default: []].insert(String(date.prefix(10))) }
        }
        var s = Summary()
        s.products = products.count
        s.calendar = calendar.mapValues { $0.sorted() }
        return s
    }

    static func carparts(_ dir: String, _ add: (Event, String) -> Void) throws -> Summary {
        let reader = try ReplayReader(path: dir + "/carparts_expsmooth/carparts_wide.csv.gz")
        var names: [String] = []
        var rows: [(Int64, [String])] = []
        try reader.forEachLine { raw, _ in
            let f = CSV.fields(Substring(String(decoding: raw, as: UTF8.self)))
            if names.isEmpty { names = Array(f.dropFirst()); return }
            rows.append((try day(f[0]), Array(f.dropFirst())))
        }
        // Complete series only (as the benchmark protocol selects them).
        let complete = names.indices.filter { c in rows.allSatisfy { c < $0.1.count && Double($0.1[c]) != nil } }
        for (t, values) in rows {
            for c in complete { add(Event(kind: .sale, product: names[c], time: t, quantity: Double(values[c])!), "") }
        }
        var s = Summary()
        s.products = complete.count
        return s
    }

    /// The calendar as Config/calendar.toml's format (indicators: effect 1, no lead).
    public static func calendarTOML(_ calendar: [String: [String]]) -> String {
        calendar.keys.sorted().map { name in
            "[[event]]\nname = \"\(name)\"\ndates = [" + calendar[name]!.map { "\"\($0)\"" }.joined(separator: ", ") + "]\neffect = 1.0\nlead_days = 0\n"
        }.joined(separator: "\n")
    }
}
