/// Decodes and validates one event message (contract: docs/contracts.md).
///
/// `expectedKind` is the kind implied by a per-kind topic (nil for a mixed topic, where `type`
/// decides). `key` is the Kafka message key, which must equal `product` when present.
public struct EventDecoder: Sendable {
    public var maxMessageBytes: Int
    /// Plausible event times: [1970, 2200).
    static let minTime: Int64 = 0
    static let maxTime: Int64 = Int64(Timestamp.daysFromCivil(2200, 1, 1)) * 86_400_000
    static let maxQuantity = 1e9

    public init(maxMessageBytes: Int = 64 * 1024) { self.maxMessageBytes = maxMessageBytes }

    public func decode(_ bytes: [UInt8], expectedKind: EventKind? = nil, key: [UInt8]? = nil) -> Result<Event, BadEvent> {
        bytes.withUnsafeBytes { decode($0, expectedKind: expectedKind, key: key) }
    }

    public func decode(_ bytes: UnsafeRawBufferPointer, expectedKind: EventKind? = nil, key: [UInt8]? = nil) -> Result<Event, BadEvent> {
        guard bytes.count <= maxMessageBytes else { return .failure(BadEvent(.oversized, "\(bytes.count) bytes > \(maxMessageBytes)")) }
        var s = JSONScanner(bytes)
        guard let first = s.peek() else { return .failure(BadEvent(.malformedJSON, "empty message")) }
        guard first == 0x7B else {
            if s.value() != nil, s.peek() == nil { return .failure(BadEvent(.notAnObject, "top-level value is not an object")) }
            return .failure(BadEvent(.malformedJSON, "not JSON"))
        }
        s.i += 1
        var fields = Fields()
        if !s.expect(0x7D) {
            while true {
                guard s.peek() == 0x22, let (keyRange, keyEscaped) = s.string(), s.expect(0x3A), let value = s.value() else {
                    return .failure(BadEvent(.malformedJSON, "at byte \(s.i)"))
                }
                if keyEscaped {
                    JSONScanner.unescape(UnsafeRawBufferPointer(rebasing: bytes[keyRange])).withUnsafeBytes {
                        fields.take(name: $0, value: value, bytes: bytes)
                    }
                } else {
                    fields.take(name: UnsafeRawBufferPointer(rebasing: bytes[keyRange]), value: value, bytes: bytes)
                }
                if s.expect(0x2C) { continue }
                guard s.expect(0x7D) else { return .failure(BadEvent(.malformedJSON, "at byte \(s.i)")) }
                break
            }
        }
        guard s.peek() == nil else { return .failure(BadEvent(.malformedJSON, "trailing bytes after the object")) }
        return validate(fields, expectedKind: expectedKind, key: key)
    }

    private func validate(_ f: Fields, expectedKind: EventKind?, key: [UInt8]?) -> Result<Event, BadEvent> {
        let kind: EventKind
        if let typeField = f.type {
            guard let parsed = typeField.withText({ t -> EventKind? in
                if Fields.equal(t, "sale") { return .sale }
                if Fields.equal(t, "page_view") { return .pageView }
                if Fields.equal(t, "price") { return .price }
                if Fields.equal(t, "inventory") { return .inventory }
                if Fields.equal(t, "costs") { return .costs }
                return nil
            }) else {
                return .failure(BadEvent(.unknownType, typeField.string.map { "type \"\($0.prefix(40))\"" } ?? "type is not a string"))
            }
            guard let k = parsed else { return .failure(BadEvent(.unknownType, "type \"\(typeField.string!.prefix(40))\"")) }
            if let expectedKind, expectedKind != k {
                return .failure(BadEvent(.typeMismatch, "\(k.wireName) event on the \(expectedKind.wireName) topic"))
            }
            kind = k
        } else {
            guard let expectedKind else { return .failure(BadEvent(.missingType, "mixed topic needs a type field")) }
            kind = expectedKind
        }
        guard let productField = f.product else { return .failure(BadEvent(.missingProduct)) }
        guard let productLength = productField.withText({ $0.count }), productLength > 0, productLength <= 256,
              let product = productField.validString else {
            return .failure(BadEvent(.badProduct, "product must be a non-empty UTF-8 string of at most 256 bytes"))
        }
        if let key, !key.isEmpty, productField.withText({ !key.elementsEqual($0) })! {
            return .failure(BadEvent(.keyMismatch, "message key differs from product"))
        }
        guard let tsField = f.ts else { return .failure(BadEvent(.missingTimestamp)) }
        guard let time = Self.time(tsField) else { return .failure(BadEvent(.badTimestamp, "ts must be RFC 3339 or epoch ms in [1970, 2200)")) }
        var category: String? = nil
        if let c = f.category, !c.isNull {
            guard let n = c.withText({ $0.count }), n > 0, n <= 128, let valid = c.validString else {
                return .failure(BadEvent(.badCategory, "category must be a UTF-8 string of at most 128 bytes"))
            }
            category = valid
        }
        switch kind {
        case .sale:
            guard let units = Self.quantity(f.units, default: 1), units.magnitude <= Self.maxQuantity else {
                return .failure(BadEvent(.badUnits, "units must be a finite number with |units| <= 1e9"))
            }
            return .success(Event(kind: .sale, product: product, time: time, quantity: units, category: category))
        case .pageView:
            guard let views = Self.quantity(f.views, default: 1), views >= 0, views <= Self.maxQuantity else {
                return .failure(BadEvent(.badViews, "views must be a finite number in [0, 1e9]"))
            }
            return .success(Event(kind: .pageView, product: product, time: time, quantity: views, category: category))
        case .price: return Self.price(f, Event(kind: .price, product: product, time: time, quantity: 0, category: category))
        case .inventory: return Self.inventory(f, Event(kind: .inventory, product: product, time: time, quantity: 0, category: category))
        case .costs: return Self.costs(f, Event(kind: .costs, product: product, time: time, quantity: 0, category: category))
        }
    }

    /// The fields of a price event, onto `e` (product, time and category checked).
    private static func price(_ f: Fields, _ e: Event) -> Result<Event, BadEvent> {
        var e = e
        guard let priceField = f.price, !priceField.isNull else { return .failure(BadEvent(.missingPrice)) }
        guard let price = quantity(priceField, default: nil), price > 0, price <= maxQuantity else {
            return .failure(BadEvent(.badPrice, "price must be a finite number in (0, 1e9]"))
        }
        e.quantity = price
        if let field = f.effective, !field.isNull {
            guard let t = time(field) else { return .failure(BadEvent(.badEffective, "effective must be RFC 3339 or epoch ms")) }
            e.effective = t
        }
        switch f.promo {
        case nil, .null?: break
        case .bool(let b)?: e.promo = b
        default: return .failure(BadEvent(.badPromo, "promo must be true or false"))
        }
        return .success(e)
    }

    /// The fields of an inventory snapshot.
    private static func inventory(_ f: Fields, _ e: Event) -> Result<Event, BadEvent> {
        var e = e
        guard let onHand = quantity(f.onHand, default: nil), onHand.magnitude <= maxQuantity,
              let onOrder = quantity(f.onOrder, default: 0), onOrder >= 0, onOrder <= maxQuantity else {
            return .failure(BadEvent(.badInventory, "on_hand must be a finite number with |on_hand| <= 1e9 (negative: backordered), on_order (optional) one in [0, 1e9]"))
        }
        e.quantity = onHand
        e.onOrder = onOrder
        return .success(e)
    }

    /// The policy fields of a costs event, as text (the pipeline checks them against the policy keys).
    private static func costs(_ f: Fields, _ e: Event) -> Result<Event, BadEvent> {
        var e = e
        for (name, field) in f.policy + (f.price.map { [("price", $0)] } ?? []) {
            switch field {
            case .number(let x): e.policy[name] = x.isFinite ? EventEncoder.number(x) : "nan"
            case .null: continue
            default:
                guard let text = field.validString else { return .failure(BadEvent(.badCosts, "\(name) must be a number or a string")) }
                e.policy[name] = text
            }
        }
        return .success(e)
    }

    private static func time(_ v: Field) -> Int64? {
        let t: Int64
        switch v {
        case .raw, .escaped: guard let p = v.withText({ Timestamp.parse($0) }) ?? nil else { return nil }; t = p
        case .number(let d):
            guard d.isFinite, d == d.rounded(), d >= Double(minTime), d < Double(maxTime) else { return nil }
            t = Int64(d)
        default: return nil
        }
        return t >= minTime && t < maxTime ? t : nil
    }

    private static func quantity(_ v: Field?, default d: Double?) -> Double? {
        switch v {
        case nil, .null?: return d
        case .number(let x)?: return x.isFinite ? x : nil
        default: return nil
        }
    }
}

/// A field's value, borrowed from the message bytes (valid during one `decode` call): strings are
/// only copied into `String`s for the product and category.
enum Field {
    case raw(UnsafeRawBufferPointer)
    case escaped([UInt8])
    case number(Double), bool(Bool), null, nested

    var isNull: Bool { if case .null = self { true } else { false } }

    /// The string's UTF-8 bytes, or nil if the value is not a string.
    func withText<R>(_ body: (UnsafeRawBufferPointer) -> R) -> R? {
        switch self {
        case .raw(let b): return body(b)
        case .escaped(let a): return a.withUnsafeBytes(body)
        default: return nil
        }
    }

    var string: String? { withText { String(decoding: $0, as: UTF8.self) } }
    /// The text if it is valid UTF-8. Identifiers must be: repairing them (U+FFFD) would merge
    /// distinct byte strings into one product and change the ID on its way out.
    /// ASCII (every identifier in practice) is valid UTF-8 as it is and skips the generic validator.
    var validString: String? {
        withText { bytes in
            var high: UInt8 = 0
            for b in bytes { high |= b }
            return high < 0x80 ? String(decoding: bytes, as: UTF8.self) : String(validating: bytes, as: UTF8.self)
        } ?? nil
    }
}

struct Fields {
    var type: Field?, product: Field?, ts: Field?, units: Field?, views: Field?
    var price: Field?, effective: Field?, promo: Field?, category: Field?
    var onHand: Field?, onOrder: Field?
    /// A costs event's policy fields (every field but the common ones), by name.
    var policy: [(String, Field)] = []

    mutating func take(name: UnsafeRawBufferPointer, value: JSONScanner.Value, bytes: UnsafeRawBufferPointer) {
        func field() -> Field {
            switch value {
            case .string(let range, let escaped):
                let raw = UnsafeRawBufferPointer(rebasing: bytes[range])
                return escaped ? .escaped(JSONScanner.unescape(raw)) : .raw(raw)
            case .number(let d): return .number(d)
            case .bool(let b): return .bool(b)
            case .null: return .null
            case .nested: return .nested
            }
        }
        // Later duplicates win, as in most JSON readers.
        switch name.count {
        case 2 where Self.equal(name, "ts"): ts = field()
        case 4 where Self.equal(name, "type"): type = field()
        case 5 where Self.equal(name, "units"): units = field()
        case 5 where Self.equal(name, "views"): views = field()
        case 5 where Self.equal(name, "price"): price = field()
        case 5 where Self.equal(name, "promo"): promo = field()
        case 7 where Self.equal(name, "product"): product = field()
        case 8 where Self.equal(name, "category"): category = field()
        case 9 where Self.equal(name, "effective"): effective = field()
        case 7 where Self.equal(name, "on_hand"): onHand = field()
        case 8 where Self.equal(name, "on_order"): onOrder = field()
        // A costs event's policy keys (and `price`, read above); in other kinds they are unknown fields.
        case 9 where Self.equal(name, "lead_time"), 9 where Self.equal(name, "unit_cost"),
             10 where Self.equal(name, "cost_share"), 8 where Self.equal(name, "shortage"), 12 where Self.equal(name, "holding_cost"),
             12 where Self.equal(name, "holding_rate"), 13 where Self.equal(name, "review_period"), 14 where Self.equal(name, "backorder_cost"):
            policy.append((String(decoding: name, as: UTF8.self), field()))
        default: break
        }
    }

    @inline(__always) static func equal(_ a: UnsafeRawBufferPointer, _ b: StaticString) -> Bool {
        guard a.count == b.utf8CodeUnitCount else { return false }
        for k in 0..<a.count where a[k] != b.utf8Start[k] { return false }
        return true
    }
}
