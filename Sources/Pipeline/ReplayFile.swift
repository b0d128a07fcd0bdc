import CZlib
import Foundation

/// Reads a replay log (JSON Lines, optionally gzip-compressed) line by line without copying:
/// each line is handed out as a buffer that is valid only during the callback.
public final class ReplayReader {
    private let file: gzFile
    public let path: String
    private var buffer: [UInt8]
    private var carry: [UInt8] = []
    /// Compressed or plain bytes read so far from the file (for progress).
    public var position: Int { Int(gzoffset(file)) }

    /// `bufferBytes`: read size (the fuzzer uses a tiny one so lines straddle reads).
    public init(path: String, bufferBytes: Int = 1 << 20) throws {
        // zlib reads plain files transparently, so one reader serves .jsonl and .jsonl.gz.
        guard let f = gzopen(path, "rb") else { throw ReplayError.cannotOpen(path) }
        gzbuffer(f, UInt32(max(bufferBytes, 64)))
        buffer = [UInt8](repeating: 0, count: max(bufferBytes, 1))
        file = f
        self.path = path
    }

    deinit { gzclose(file) }

    /// Calls `body` with each non-empty line and its 1-based line number.
    public func forEachLine(_ body: (UnsafeRawBufferPointer, Int64) throws -> Void) throws {
        var lineNumber: Int64 = 0
        while true {
            let n = buffer.withUnsafeMutableBytes { gzread(file, $0.baseAddress, UInt32($0.count)) }
            if n < 0 { throw ReplayError.corrupt(path) }
            if n == 0 { break }
            try buffer.withUnsafeBytes { raw in
                let chunk = UnsafeRawBufferPointer(rebasing: raw[0..<Int(n)])
                var start = 0
                while let nl = chunk[start...].firstIndex(of: 0x0A) {
                    lineNumber += 1
                    if carry.isEmpty {
                        try emit(UnsafeRawBufferPointer(rebasing: chunk[start..<nl]), lineNumber, body)
                    } else {
                        carry.append(contentsOf: chunk[start..<nl])
                        try carry.withUnsafeBytes { try emit($0, lineNumber, body) }
                        carry.removeAll(keepingCapacity: true)
                    }
                    start = nl + 1
                }
                carry.append(contentsOf: chunk[start...])
            }
        }
        if !carry.isEmpty {
            lineNumber += 1
            try carry.withUnsafeBytes { try emit($0, lineNumber, body) }
            carry.removeAll()
        }
    }

    private func emit(_ line: UnsafeRawBufferPointer, _ number: Int64, _ body: (UnsafeRawBufferPointer, Int64) throws -> Void) throws {
        var end = line.count
        if end > 0 && line[end - 1] == 0x0D { end -= 1 }  // tolerate CRLF
        var blank = true
        for i in 0..<end where line[i] != 0x20 && line[i] != 0x09 { blank = false; break }
        if !blank { try body(UnsafeRawBufferPointer(rebasing: line[0..<end]), number) }
    }
}

public enum ReplayError: Error, CustomStringConvertible {
    case cannotOpen(String), corrupt(String), cannotWrite(String)
    public var description: String {
        switch self {
        case .cannotOpen(let p): "cannot open replay file \(p)"
        case .corrupt(let p): "cannot read \(p) (corrupt gzip?)"
        case .cannotWrite(let p): "cannot write \(p)"
        }
    }
}

/// Appends lines to a file (gzip when the name ends in .gz), buffered.
public final class LineWriter {
    private let gz: gzFile?
    private let plain: UnsafeMutablePointer<FILE>?
    public let path: String

    /// `level` is the gzip level for .gz files (1 = fastest).
    public init(path: String, level: Int = 6, bufferBytes: Int = 1 << 20) throws {
        self.path = path
        if path.hasSuffix(".gz") {
            guard let f = gzopen(path, "wb\(level)") else { throw ReplayError.cannotWrite(path) }
            gzbuffer(f, UInt32(max(bufferBytes, 64)))
            gz = f
            plain = nil
        } else {
            guard let f = fopen(path, "wb") else { throw ReplayError.cannotWrite(path) }
            setvbuf(f, nil, _IOFBF, bufferBytes)
            plain = f
            gz = nil
        }
    }

    public func write(_ line: String) {
        var line = line
        line.withUTF8 { write($0) }
    }

    public func write(_ bytes: UnsafeBufferPointer<UInt8>) { write(UnsafeRawBufferPointer(bytes)) }

    public func write(_ bytes: UnsafeRawBufferPointer) {
        if let gz {
            _ = gzwrite(gz, bytes.baseAddress, UInt32(bytes.count))
            _ = gzputc(gz, 0x0A)
        } else if let plain {
            fwrite(bytes.baseAddress, 1, bytes.count, plain)
            fputc(0x0A, plain)
        }
    }

    public func flush() {
        if let gz { gzflush(gz, Z_SYNC_FLUSH) }
        if let plain { fflush(plain) }
    }

    public func close() {
        if let gz { gzclose(gz) }
        if let plain { fclose(plain) }
    }
}
