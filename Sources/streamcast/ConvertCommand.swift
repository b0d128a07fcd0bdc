import ArgumentParser
import Datasets
import Foundation
import Pipeline

/// `streamcast convert`: a public demand dataset, downloaded by the user (docs/datasets.md), → a
/// replay log.
struct ConvertCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "convert",
        abstract: "Convert a real demand dataset (walmart, stallion, carparts) to a replay log (docs/datasets.md).",
        discussion: "Also writes BASE.calendar.toml with the dataset's holiday/event dates, where BASE is OUT without .jsonl/.gz.")

    @Argument(help: "walmart | stallion | carparts") var dataset: String
    @Option(help: "Folder holding the downloaded datasets, one sub-folder each (docs/datasets.md: where each comes from).") var data: String
    @Option(help: "Output log (.gz compresses).") var out: String

    func run() throws {
        guard let name = DatasetConverter.Name(rawValue: dataset) else {
            throw ValidationError("dataset must be one of \(DatasetConverter.Name.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        guard FileManager.default.fileExists(atPath: data) else { throw ValidationError("no dataset folder at \(data) (--data: docs/datasets.md says where to download each dataset and how to lay it out)") }
        let writer = try LineWriter(path: out)
        let summary = try DatasetConverter.convert(name, dataDirectory: data) { writer.write($0) }
        writer.close()
        var base = out
        for suffix in [".gz", ".jsonl"] where base.hasSuffix(suffix) { base.removeLast(suffix.count) }
        if !summary.calendar.isEmpty {
            try DatasetConverter.calendarTOML(summary.calendar).write(toFile: base + ".calendar.toml", atomically: true, encoding: .utf8)
        }
        say("\(dataset): \(summary.products) products, \(summary.events) events → \(out)" + (summary.calendar.isEmpty ? "" : "; calendar → \(base).calendar.toml"))
    }
}
