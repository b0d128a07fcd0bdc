import Datasets
import Events
import Foundation
import Testing
import Windows

/// The converted logs hold exactly the source data: per product and period, the sales in the log
/// add up to the dataset's value. The source side is read by an independent implementation
/// (Python's csv/zipfile/gzip), so the two readers check each other. The datasets are downloaded
/// by the user (docs/datasets.md): the folder is STREAMCAST_DATASETS, else a `shared/data` folder
/// beside the checkout (the development machines' layout); the tests skip when neither exists.
@Suite struct ConverterRoundTripTests {
    static let data = ProcessInfo.processInfo.environment["STREAMCAST_DATASETS"]
        ?? URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("shared/data").path
    static var available: Bool { FileManager.default.fileExists(atPath: data + "/stallion/stallion.csv.gz") }

    /// (product, period start YYYY-MM-DD) → value, from Python.
    func source(_ script: String) throws -> [String: Double] {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["python3", "-c", script, Self.data]
        let out = FileManager.default.temporaryDirectory.appendingPathComponent("src-\(UUID().uuidString)")
        _ = FileManager.default.createFile(atPath: out.path, contents: nil)
        p.standardOutput = try FileHandle(forWritingTo: out)
        try p.run()
        p.waitUntilExit()
        #expect(p.terminationStatus == 0)
        var totals: [String: Double] = [:]
        for line in try String(contentsOf: out, encoding: .utf8).split(separator: "\n") {
            let f = line.split(separator: "\t")
            totals["\(f[0])|\(f[1])", default: 0] += Double(f[2])!
        }
        return totals
    }

    func logTotals(_ name: DatasetConverter.Name, period: Period) throws -> (totals: [String: Double], summary: DatasetConverter.Summary) {
        var totals: [String: Double] = [:]
        let decoder = EventDecoder()
        var bad = 0
        let summary = try DatasetConverter.convert(name, dataDirectory: Self.data) { line in
            var line = line
            switch line.withUTF8({ decoder.decode(UnsafeRawBufferPointer($0)) }) {
            case .success(let e) where e.kind == .sale:
                let start = Timestamp.format(period.start(of: period.index(of: e.time))).prefix(10)
                totals["\(e.product)|\(start)", default: 0] += e.quantity
            case .success: break
            case .failure: bad += 1
            }
        }
        #expect(bad == 0, "every converted line is a valid event")
        return (totals, summary)
    }

    func expectEqual(_ log: [String: Double], _ src: [String: Double]) {
        #expect(log.count == src.count)
        var mismatches = 0
        for (k, v) in src where abs((log[k] ?? .nan) - v) > 1e-6 * max(1, abs(v)) { mismatches += 1 }
        #expect(mismatches == 0)
    }

    @Test(.enabled(if: available)) func walmartWeeksLandInMondayWeeks() throws {
        let (log, summary) = try logTotals(.walmart, period: .week)
        let src = try source("""
            import csv, io, sys, zipfile, datetime
            z = zipfile.ZipFile(sys.argv[1] + '/walmart_store_dept_weekly/train.csv.zip')
            for r in csv.DictReader(io.TextIOWrapper(z.open('train.csv'))):
                d = datetime.date.fromisoformat(r['Date']); monday = d - datetime.timedelta(days=d.weekday())
                print(f"S{r['Store']}-D{r['Dept']}\\t{monday}\\t{r['Weekly_Sales']}")
            """)
        expectEqual(log, src)
        #expect(summary.products == 3331 && summary.calendar["walmart_holiday"]?.count == 10)
    }

    @Test(.enabled(if: available)) func stallionMonths() throws {
        let (log, summary) = try logTotals(.stallion, period: .month)
        let src = try source("""
            import csv, gzip, sys
            for r in csv.DictReader(gzip.open(sys.argv[1] + '/stallion/stallion.csv.gz', 'rt')):
                print(f"{r['agency']}|{r['sku']}\\t{r['date'][:10]}\\t{r['volume']}")
            """)
        expectEqual(log, src)
        // 10 of the 12 flags: fifa_u_17_world_cup and football_gold_cup are never set in the data.
        #expect(summary.products == 350 && summary.calendar.count == 10)
    }

    @Test(.enabled(if: available)) func carpartsCompleteSeries() throws {
        let (log, summary) = try logTotals(.carparts, period: .month)
        let src = try source("""
            import csv, gzip, sys
            rows = list(csv.reader(gzip.open(sys.argv[1] + '/carparts_expsmooth/carparts_wide.csv.gz', 'rt')))
            names = rows[0][1:]
            for c, name in enumerate(names):
                col = [r[c + 1] for r in rows[1:]]
                if all(v != '' and v != 'NA' for v in col):
                    for r in rows[1:]: print(f"{name}\\t{r[0][:10]}\\t{r[c + 1]}")
            """)
        expectEqual(log, src)
        #expect(summary.products == 2509)
    }
}
