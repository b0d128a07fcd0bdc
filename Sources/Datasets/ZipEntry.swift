import CZlib
import Foundation

/// Reads the first file of a .zip archive (deflate or stored). Sizes in the local header may be
/// zip64 placeholders, so deflate data is inflated until the stream ends instead.
enum ZipEntry {
    static func firstFile(_ path: String) throws -> [UInt8] {
        guard let data = FileManager.default.contents(atPath: path) else { throw DatasetError("cannot read \(path)") }
        let bytes = [UInt8](data)
        func u16(_ at: Int) -> Int { Int(bytes[at]) | Int(bytes[at + 1]) << 8 }
        func u32(_ at: Int) -> Int { u16(at) | u16(at + 2) << 16 }
        guard bytes.count > 30, u32(0) == 0x0403_4b50 else { throw DatasetError("\(path) is not a zip archive") }
        let method = u16(8)
        let start = 30 + u16(26) + u16(28)
        if method == 0 { return Array(bytes[start..<(start + u32(18))]) }
        guard method == 8 else { throw DatasetError("\(path): compression method \(method) is not supported") }
        var stream = z_stream()
        guard inflateInit2_(&stream, -15, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size)) == Z_OK else { throw DatasetError("zlib init failed") }
        defer { inflateEnd(&stream) }
        var out: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 1 << 20)
        var status: Int32 = Z_OK
        try bytes.withUnsafeBufferPointer { input in
            stream.next_in = UnsafeMutablePointer(mutating: input.baseAddress! + start)
            stream.avail_in = UInt32(input.count - start)
            repeat {
                status = chunk.withUnsafeMutableBufferPointer { buf in
                    stream.next_out = buf.baseAddress
                    stream.avail_out = UInt32(buf.count)
                    return inflate(&stream, Z_NO_FLUSH)
                }
                guard status == Z_OK || status == Z_STREAM_END else { throw DatasetError("\(path): corrupt deflate data (\(status))") }
                out.append(contentsOf: chunk[0..<(chunk.count - Int(stream.avail_out))])
            } while status != Z_STREAM_END
        }
        return out
    }
}

public struct DatasetError: Error, CustomStringConvertible {
    public let description: String
    init(_ d: String) { description = d }
}
