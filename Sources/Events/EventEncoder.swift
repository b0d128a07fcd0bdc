/// Writes events as canonical contract JSON (used by the simulator and tests).
public enum EventEncoder {
    public static func json(_ e: Event) -> String {
        var s = "{\"type\":\"\(e.kind.wireName)\",\"product\":\(quote(e.product)),\"ts\":\"\(Timestamp.format(e.time))\""
        switch e.kind {
        case .sale: s += ",\"units\":\(number(e.quantity))"
        case .pageView: s += ",\"views\":\(number(e.quantity))"
        case .price:
            s += ",\"price\":\(number(e.quantity))"
            if e.effective != e.time { s += ",\"effective\":\"\(Timestamp.format(e.effective))\"" }
            if e.promo { s += ",\"promo\":true" }
        case .inventory:
            s += ",\"on_hand\":\(number(e.quantity))"
            if e.onOrder != 0 { s += ",\"on_order\":\(number(e.onOrder))" }
        case .costs:
            for (k, v) in e.policy.sorted(by: { $0.key < $1.key }) { s += ",\(quote(k)):" + (Double(v) != nil ? v : quote(v)) }
        }
        if let c = e.category { s += ",\"category\":\(quote(c))" }
        return s + "}"
    }

    /// Shortest round-trip form, integers without a fraction.
    public static func number(_ x: Double) -> String {
        if x == x.rounded(), x.magnitude < 1e15 { return String(Int64(x)) }
        return "\(x)"
    }

    public static func quote(_ s: String) -> String {
        // Nothing to escape (the usual product id or model name): the text as it is, in quotes.
        if !s.utf8.contains(where: { $0 < 0x20 || $0 == UInt8(ascii: "\"") || $0 == UInt8(ascii: "\\") }) { return "\"" + s + "\"" }
        var out = "\""
        for u in s.unicodeScalars {
            switch u {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if u.value < 0x20 {
                    let hex = String(u.value, radix: 16)
                    out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                } else {
                    out.unicodeScalars.append(u)
                }
            }
        }
        return out + "\""
    }
}
