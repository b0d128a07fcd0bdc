import Events

/// Writes contract event lines straight into a byte buffer (the simulator emits millions).
struct EventLineWriter {
    var bytes: [UInt8] = []
    /// "YYYY-MM-DD" of the day cached by day number.
    private var dayCache: (day: Int64, text: [UInt8]) = (Int64.min, [])

    mutating func append(_ s: StaticString) {
        bytes.append(contentsOf: UnsafeBufferPointer(start: s.utf8Start, count: s.utf8CodeUnitCount))
    }

    mutating func append(_ s: [UInt8]) { bytes.append(contentsOf: s) }

    mutating func digits(_ v: Int, width: Int) {
        var buf: (UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8) = (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        var n = v, count = 0
        withUnsafeMutableBytes(of: &buf) { b in
            repeat { b[count] = UInt8(48 + n % 10); n /= 10; count += 1 } while n > 0 || count < width
            for i in stride(from: count - 1, through: 0, by: -1) { bytes.append(b[i]) }
        }
    }

    mutating func number(_ x: Double) {
        if x == x.rounded(), x.magnitude < 1e15 {
            if x < 0 { bytes.append(0x2D) }
            digits(Int(x.magnitude), width: 1)
        } else {
            bytes.append(contentsOf: "\(x)".utf8)
        }
    }

    /// RFC 3339 UTC with milliseconds.
    mutating func timestamp(_ ms: Int64) {
        let day = ms >= 0 ? ms / 86_400_000 : (ms - 86_399_999) / 86_400_000
        if day != dayCache.day {
            let (y, m, d) = Timestamp.civilFromDays(Int(day))
            var t = EventLineWriter()
            t.digits(y, width: 4); t.bytes.append(0x2D); t.digits(m, width: 2); t.bytes.append(0x2D); t.digits(d, width: 2)
            dayCache = (day, t.bytes)
        }
        bytes.append(contentsOf: dayCache.text)
        let rem = Int(ms - day * 86_400_000)
        bytes.append(0x54)
        digits(rem / 3_600_000, width: 2); bytes.append(0x3A)
        digits(rem / 60_000 % 60, width: 2); bytes.append(0x3A)
        digits(rem / 1000 % 60, width: 2); bytes.append(0x2E)
        digits(rem % 1000, width: 3); bytes.append(0x5A)
    }

    mutating func event(_ kind: EventKind, product: [UInt8], category: [UInt8], time: Int64, quantity: Double,
                        effective: Int64? = nil, promo: Bool = false) {
        switch kind {
        case .sale: append(#"{"type":"sale","product":""#)
        case .pageView: append(#"{"type":"page_view","product":""#)
        case .price: append(#"{"type":"price","product":""#)
        case .inventory: append(#"{"type":"inventory","product":""#)
        case .costs: append(#"{"type":"costs","product":""#)
        }
        append(product)
        append(#"","ts":""#)
        timestamp(time)
        switch kind {
        case .sale: append(#"","units":"#)
        case .pageView: append(#"","views":"#)
        case .price: append(#"","price":"#)
        case .inventory: append(#"","on_hand":"#)
        case .costs: append(#"","unit_cost":"#)
        }
        number(quantity)
        if let effective {
            append(#","effective":""#)
            timestamp(effective)
            bytes.append(0x22)
        }
        if promo { append(#","promo":true"#) }
        append(#","category":""#)
        append(category)
        append("\"}")
    }
}
