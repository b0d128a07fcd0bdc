#if FUZZING
import CFuzzerDriver
#endif
import Events
import Foundation
import Pipeline

/// Coverage-guided fuzzing of the event decoder and the replay reader with libFuzzer.
///
/// Built with `scripts/fuzz.sh` (`-sanitize=fuzzer,address -DFUZZING`), libFuzzer supplies `main`
/// and calls `LLVMFuzzerTestOneInput` with inputs it evolves towards new code paths; AddressSanitizer
/// turns any out-of-bounds access in our unsafe-buffer parsing into a crash. Built normally (plain
/// `swift build`), this is a reproducer: `streamcast-fuzz FILE...` runs saved inputs (e.g. a crash
/// file libFuzzer wrote) through the same checks.
enum FuzzTarget {
    static let decoder = EventDecoder(maxMessageBytes: 4096)
    static let directory: String = {
        let dir = (ProcessInfo.processInfo.environment["TMPDIR"] ?? "/tmp") + "/streamcast-fuzz-\(getpid())"
        try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        return dir
    }()

    /// One input: decoded as one event (an accepted event must round-trip through its canonical
    /// encoding). An input with line breaks is also a replay file: written plain and gzipped, read
    /// back through `ReplayReader`, each line decoded. Any outcome but a crash (an event, a
    /// dead-letter reason, a reader error) is a pass. (Files only for multi-line inputs: two files
    /// per input cost ~50× a decode. The reader reads 64 bytes at a time, so lines straddle reads.)
    static func run(_ input: UnsafeRawBufferPointer) {
        if case .success(let event) = decoder.decode(input) {
            // An accepted event survives its own canonical encoding unchanged (what `record` writes).
            let again = EventEncoder.json(event)
            guard case .success(let back) = decoder.decode(Array(again.utf8)), back == event else {
                fatalError("accepted event does not round-trip: \(event) → \(again)")
            }
        }
        guard input.contains(10) else { return }
        for gz in [false, true] {
            let path = directory + (gz ? "/input.jsonl.gz" : "/input.jsonl")
            guard let writer = try? LineWriter(path: path, level: 1, bufferBytes: 4096) else { return }
            for line in input.split(separator: 10) { writer.write(UnsafeRawBufferPointer(rebasing: line)) }
            writer.close()
            try? ReplayReader(path: path, bufferBytes: 64).forEachLine { line, _ in _ = decoder.decode(line) }
        }
    }
}

/// The entry point: with FUZZING, hand control to libFuzzer's driver (SwiftPM names the program's
/// entry point itself, so libFuzzer's own `main` is not used); otherwise replay the files given.
@main
struct FuzzMain {
    static func main() throws {
        #if FUZZING
        var argc = CommandLine.argc
        var argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = CommandLine.unsafeArgv
        exit(LLVMFuzzerRunDriver(&argc, &argv) { data, size in
            FuzzTarget.run(UnsafeRawBufferPointer(start: data, count: size))
            return 0
        })
        #else
        let files = CommandLine.arguments.dropFirst()
        guard !files.isEmpty else {
            print("usage: streamcast-fuzz FILE...   (scripts/fuzz.sh builds it with libFuzzer)")
            return
        }
        for file in files {
            let data = try Data(contentsOf: URL(fileURLWithPath: file))
            data.withUnsafeBytes { FuzzTarget.run($0) }
            print("\(file): ok")
        }
        #endif
    }
}
