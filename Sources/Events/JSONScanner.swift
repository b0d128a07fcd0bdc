import Foundation

/// A small, strict, allocation-light JSON reader for one flat event object. It validates the whole
/// document (nested values included) but only materialises the fields the decoder asks for.
struct JSONScanner {
    let bytes: UnsafeRawBufferPointer
    var i = 0

    init(_ bytes: UnsafeRawBufferPointer) { self.bytes = bytes }

    enum Value {
        case string(Range<Int>, escaped: Bool)  // raw content; `unescape` it when `escaped`
        case number(Double)
        case bool(Bool)
        case null
        case nested
    }

    var atEnd: Bool { i >= bytes.count }

    mutating func skipWhitespace() {
        while i < bytes.count {
            let c = bytes[i]
            if c == 0x20 || c == 0x0A || c == 0x0D || c == 0x09 { i += 1 } else { break }
        }
    }

    mutating func expect(_ c: UInt8) -> Bool {
        skipWhitespace()
        guard i < bytes.count, bytes[i] == c else { return false }
        i += 1
        return true
    }

    mutating func peek() -> UInt8? {
        skipWhitespace()
        return i < bytes.count ? bytes[i] : nil
    }

    /// Reads a string starting at `"`; returns its raw content range and whether it has escapes
    /// (validated here, decoded only on demand by `unescape`).
    mutating func string() -> (Range<Int>, escaped: Bool)? {
        guard i < bytes.count, bytes[i] == 0x22 else { return nil }
        i += 1
        let start = i
        var escaped = false
        while i < bytes.count {
            let c = bytes[i]
            if c == 0x22 {
                defer { i += 1 }
                return (start..<i, escaped)
            }
            if c < 0x20 { return nil }
            if c == 0x5C {
                escaped = true
                i += 1
                guard i < bytes.count else { return nil }
                switch bytes[i] {
                case 0x22, 0x5C, 0x2F, 0x62, 0x66, 0x6E, 0x72, 0x74: i += 1
                case 0x75: guard unicodeEscape() != nil else { return nil }
                default: return nil
                }
                continue
            }
            i += 1
        }
        return nil
    }

    /// The decoded bytes of a validated string's raw content.
    static func unescape(_ raw: UnsafeRawBufferPointer) -> [UInt8] {
        var s = JSONScanner(raw)
        var out: [UInt8] = []
        out.reserveCapacity(raw.count)
        while s.i < raw.count {
            let c = raw[s.i]
            guard c == 0x5C else { out.append(c); s.i += 1; continue }
            s.i += 1
            switch raw[s.i] {
            case 0x62: out.append(0x08)
            case 0x66: out.append(0x0C)
            case 0x6E: out.append(0x0A)
            case 0x72: out.append(0x0D)
            case 0x74: out.append(0x09)
            case 0x75:
                let scalar = s.unicodeEscape()!
                out.append(contentsOf: Array(String(Character(scalar)).utf8))
                continue
            default: out.append(raw[s.i])
            }
            s.i += 1
        }
        return out
    }

    /// At the `u` of `\uXXXX` (with a following low surrogate when needed); leaves `i` after it.
    private mutating func unicodeEscape() -> Unicode.Scalar? {
        func hex4(_ at: Int) -> UInt32? {
            guard at + 4 <= bytes.count else { return nil }
            var v: UInt32 = 0
            for k in at..<(at + 4) {
                let c = bytes[k]
                let d: UInt32
                switch c {
                case 0x30...0x39: d = UInt32(c - 0x30)
                case 0x41...0x46: d = UInt32(c - 0x41 + 10)
                case 0x61...0x66: d = UInt32(c - 0x61 + 10)
                default: return nil
                }
                v = v << 4 | d
            }
            return v
        }
        guard let hi = hex4(i + 1) else { return nil }
        i += 5
        if (0xD800..<0xDC00).contains(hi) {
            guard i + 6 <= bytes.count, bytes[i] == 0x5C, bytes[i + 1] == 0x75, let lo = hex4(i + 2),
                  (0xDC00..<0xE000).contains(lo) else { return nil }
            i += 6
            return Unicode.Scalar(0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00))
        }
        return Unicode.Scalar(hi)
    }

    /// Reads a JSON number. Fast exact path for plain decimals; strtod otherwise.
    mutating func number() -> Double? {
        let start = i
        var negative = false
        if i < bytes.count && bytes[i] == 0x2D { negative = true; i += 1 }
        var mantissa: UInt64 = 0
        var digits = 0
        var fracDigits = 0
        let intStart = i
        while i < bytes.count, bytes[i] >= 0x30, bytes[i] <= 0x39 {
            mantissa = mantissa &* 10 &+ UInt64(bytes[i] - 0x30); digits += 1; i += 1
        }
        guard i > intStart else { return nil }
        if i - intStart > 1 && bytes[intStart] == 0x30 { return nil }  // no leading zeros
        var simple = true
        if i < bytes.count && bytes[i] == 0x2E {
            i += 1
            let fracStart = i
            while i < bytes.count, bytes[i] >= 0x30, bytes[i] <= 0x39 {
                mantissa = mantissa &* 10 &+ UInt64(bytes[i] - 0x30); digits += 1; fracDigits += 1; i += 1
            }
            guard i > fracStart else { return nil }
        }
        if i < bytes.count && (bytes[i] == 0x65 || bytes[i] == 0x45) {
            simple = false
            i += 1
            if i < bytes.count && (bytes[i] == 0x2B || bytes[i] == 0x2D) { i += 1 }
            let expStart = i
            while i < bytes.count, bytes[i] >= 0x30, bytes[i] <= 0x39 { i += 1 }
            guard i > expStart else { return nil }
        }
        if simple && digits <= 15 {
            // Both operands exact in Double, so the division is correctly rounded.
            let v = Double(mantissa) / Self.powersOf10[fracDigits]
            return negative ? -v : v
        }
        var text = [CChar](repeating: 0, count: i - start + 1)
        for k in start..<i { text[k - start] = CChar(bitPattern: bytes[k]) }
        return strtod(text, nil)
    }

    private static let powersOf10: [Double] = (0...22).map { pow(10, Double($0)) }

    private mutating func literal(_ word: StaticString) -> Bool {
        let n = word.utf8CodeUnitCount
        guard i + n <= bytes.count else { return false }
        for k in 0..<n where bytes[i + k] != word.utf8Start[k] { return false }
        i += n
        return true
    }

    /// Reads any value; nested objects/arrays are validated and skipped.
    mutating func value(depth: Int = 0) -> Value? {
        guard let c = peek() else { return nil }
        switch c {
        case 0x22:
            guard let (range, escaped) = string() else { return nil }
            return .string(range, escaped: escaped)
        case 0x74: return literal("true") ? .bool(true) : nil
        case 0x66: return literal("false") ? .bool(false) : nil
        case 0x6E: return literal("null") ? .null : nil
        case 0x7B, 0x5B:
            guard depth < 32 else { return nil }
            let close: UInt8 = c == 0x7B ? 0x7D : 0x5D
            i += 1
            if expect(close) { return .nested }
            while true {
                if c == 0x7B {
                    guard peek() == 0x22, string() != nil, expect(0x3A) else { return nil }
                }
                guard value(depth: depth + 1) != nil else { return nil }
                if expect(0x2C) { continue }
                return expect(close) ? .nested : nil
            }
        default:
            return number().map { .number($0) }
        }
    }
}
