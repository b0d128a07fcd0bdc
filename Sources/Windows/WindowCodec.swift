/// Compact little-endian binary form of a product window for the checkpoint (versioned).
public enum WindowCodec {
    /// 2 adds the inventory snapshots and cost policies; 1 (without them) still decodes.
    static let version: UInt8 = 2

    public static func encode(_ w: ProductWindow) -> [UInt8] {
        var out = ByteWriter()
        out.u8(version)
        out.string(w.product)
        out.string(w.category ?? "")
        out.i64(w.firstPeriod)
        out.i64(w.lastClosed)
        out.u16(UInt16(w.length))
        out.u16(UInt16(w.filled))
        // Rings are written oldest-first, so the decoder can lay them out from slot 0.
        for series in [ProductWindow.Series.units, .views, .price] {
            for v in w.recent(series) { out.f32(v) }
        }
        for v in w.recent(.promo) { out.u8(v != 0 ? 1 : 0) }
        out.u16(UInt16(w.open.count))
        for o in w.open { out.i64(o.index); out.f64(o.units); out.f64(o.views) }
        out.u16(UInt16(w.prices.count))
        for c in w.prices { out.i64(c.effective); out.f32(c.price); out.u8(c.promo ? 1 : 0); out.i64(c.announced) }
        out.i64(w.acceptedEvents)
        out.f64(w.totalUnits)
        out.f64(w.totalViews)
        out.u16(UInt16(w.stock.count))
        for s in w.stock { out.i64(s.time); out.f64(s.onHand); out.f64(s.onOrder) }
        out.u16(UInt16(w.policies.count))
        for p in w.policies {
            out.i64(p.time)
            out.u16(UInt16(p.keys.count))
            for (k, v) in p.keys.sorted(by: { $0.key < $1.key }) { out.string(k); out.string(v) }
        }
        return out.bytes
    }

    public static func decode(_ bytes: [UInt8]) throws -> ProductWindow {
        var r = ByteReader(bytes)
        let v = try r.u8()
        guard v == 1 || v == version else { throw CodecError.badVersion }
        let product = try r.string()
        let category = try r.string()
        let first = try r.i64()
        let lastClosed = try r.i64()
        let length = Int(try r.u16())
        let filled = Int(try r.u16())
        guard length > 0, filled <= length else { throw CodecError.corrupt }
        var w = ProductWindow(product: product, category: category.isEmpty ? nil : category, firstPeriod: first, length: length)
        w.lastClosed = lastClosed
        for i in 0..<filled { w.unitsRing[i] = try r.f32() }
        for i in 0..<filled { w.viewsRing[i] = try r.f32() }
        for i in 0..<filled { w.priceRing[i] = try r.f32() }
        for i in 0..<filled { w.promoRing[i] = try r.u8() }
        w.head = filled % length
        w.filled = filled
        for _ in 0..<Int(try r.u16()) { w.open.append(OpenPeriod(index: try r.i64(), units: try r.f64(), views: try r.f64())) }
        for _ in 0..<Int(try r.u16()) {
            w.prices.append(PriceChange(effective: try r.i64(), price: try r.f32(), promo: try r.u8() != 0, announced: try r.i64()))
        }
        w.acceptedEvents = try r.i64()
        w.totalUnits = try r.f64()
        w.totalViews = try r.f64()
        if v >= 2 {
            for _ in 0..<Int(try r.u16()) { w.stock.append(StockSnapshot(time: try r.i64(), onHand: try r.f64(), onOrder: try r.f64())) }
            for _ in 0..<Int(try r.u16()) {
                let time = try r.i64()
                var keys: [String: String] = [:]
                for _ in 0..<Int(try r.u16()) { keys[try r.string()] = try r.string() }
                w.policies.append(PolicySnapshot(time: time, keys: keys))
            }
        }
        return w
    }
}

public enum CodecError: Error { case truncated, badVersion, corrupt }

public struct ByteWriter {
    public private(set) var bytes: [UInt8] = []
    public init() {}
    public mutating func u8(_ v: UInt8) { bytes.append(v) }
    public mutating func u16(_ v: UInt16) { withUnsafeBytes(of: v.littleEndian) { bytes.append(contentsOf: $0) } }
    public mutating func u32(_ v: UInt32) { withUnsafeBytes(of: v.littleEndian) { bytes.append(contentsOf: $0) } }
    public mutating func i64(_ v: Int64) { withUnsafeBytes(of: v.littleEndian) { bytes.append(contentsOf: $0) } }
    public mutating func f32(_ v: Float) { u32(v.bitPattern) }
    public mutating func f64(_ v: Double) { i64(Int64(bitPattern: v.bitPattern)) }
    public mutating func string(_ s: String) { u16(UInt16(s.utf8.count)); bytes.append(contentsOf: s.utf8) }
    public mutating func bytes(_ b: [UInt8]) { bytes.append(contentsOf: b) }
}

public struct ByteReader {
    let bytes: [UInt8]
    var at = 0
    public init(_ bytes: [UInt8]) { self.bytes = bytes }
    public mutating func take(_ n: Int) throws -> ArraySlice<UInt8> {
        guard at + n <= bytes.count else { throw CodecError.truncated }
        defer { at += n }
        return bytes[at..<(at + n)]
    }
    private mutating func le<T: FixedWidthInteger>(_: T.Type) throws -> T {
        var v: T = 0
        for (k, b) in try take(MemoryLayout<T>.size).enumerated() { v |= T(truncatingIfNeeded: b) << (8 * k) }
        return v
    }
    public mutating func u8() throws -> UInt8 { try take(1).first! }
    public mutating func u16() throws -> UInt16 { try le(UInt16.self) }
    public mutating func u32() throws -> UInt32 { try le(UInt32.self) }
    public mutating func i64() throws -> Int64 { try le(Int64.self) }
    public mutating func f32() throws -> Float { Float(bitPattern: try u32()) }
    public mutating func f64() throws -> Double { Double(bitPattern: UInt64(bitPattern: try i64())) }
    public mutating func string() throws -> String { String(decoding: try take(Int(try u16())), as: UTF8.self) }
}
