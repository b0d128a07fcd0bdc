import Events
import Testing

@Suite struct EventDecoderTests {
    let decoder = EventDecoder(maxMessageBytes: 1024)

    func decode(_ s: String, kind: EventKind? = nil, key: String? = nil) -> Result<Event, BadEvent> {
        decoder.decode(Array(s.utf8), expectedKind: kind, key: key.map { Array($0.utf8) })
    }

    @Test func decodesTheThreeContractExamples() throws {
        let sale = try decode(#"{"type":"sale", "product":"P123", "ts":"2024-03-01T10:15:00Z", "units":2}"#).get()
        #expect(sale == Event(kind: .sale, product: "P123", time: Timestamp.parse("2024-03-01T10:15:00Z")!, quantity: 2))
        let view = try decode(#"{"type":"page_view","product":"P123","ts":"2024-03-01T10:14:02Z","views":1}"#).get()
        #expect(view.kind == .pageView && view.quantity == 1)
        let price = try decode(#"{"type":"price","product":"P123","ts":"2024-03-01T09:00:00Z","price":12.99,"effective":"2024-03-05T00:00:00Z","promo":true}"#).get()
        #expect(price.quantity == 12.99 && price.promo && price.effective == Timestamp.parse("2024-03-05T00:00:00Z")!)
    }

    @Test func appliesDefaultsAndAcceptsEpochMillisOffsetsAndExtras() throws {
        let e = try decode(#"{"type":"sale","product":"A","ts":1709288100000,"extra":{"nested":[1,2,{"x":null}]},"category":"shoes"}"#).get()
        #expect(e.quantity == 1 && e.time == 1_709_288_100_000 && e.category == "shoes")
        let offset = try decode(#"{"type":"sale","product":"A","ts":"2024-03-01T12:15:00.5+02:00"}"#).get()
        #expect(offset.time == Timestamp.parse("2024-03-01T10:15:00.500Z")!)
        let ret = try decode(#"{"type":"sale","product":"A","ts":"2024-03-01T10:15:00Z","units":-3}"#).get()
        #expect(ret.quantity == -3)  // a return lowers demand
        let price = try decode(#"{"type":"price","product":"A","ts":"2024-03-01T10:15:00Z","price":5}"#).get()
        #expect(price.effective == price.time && !price.promo)
        let escaped = try decode(#"{"type":"sale","product":"P\u00e9\"1","ts":"2024-03-01T10:15:00Z"}"#).get()
        #expect(escaped.product == "Pé\"1")
    }

    @Test func topicKindAndMessageKey() throws {
        #expect(try decode(#"{"product":"A","ts":"2024-03-01T10:15:00Z"}"#, kind: .sale).get().kind == .sale)
        #expect(try decode(#"{"type":"sale","product":"A","ts":"2024-03-01T10:15:00Z"}"#, kind: .sale, key: "A").get().product == "A")
    }

    static let bad: [(String, BadEventReason, EventKind?, String?)] = [
        ("not json", .malformedJSON, nil, nil),
        ("", .malformedJSON, nil, nil),
        (#"{"type":"sale","product":"A","ts":"2024-03-01T10:15:00Z""#, .malformedJSON, nil, nil),
        (#"{"type":"sale"} trailing"#, .malformedJSON, nil, nil),
        (#"{"type":"sale","product":"A","ts":"2024-03-01T10:15:00Z","units":01}"#, .malformedJSON, nil, nil),
        ("[1,2]", .notAnObject, nil, nil),
        (#""just a string""#, .notAnObject, nil, nil),
        (#"{"product":"A","ts":"2024-03-01T10:15:00Z"}"#, .missingType, nil, nil),
        (#"{"type":"refund","product":"A","ts":"2024-03-01T10:15:00Z"}"#, .unknownType, nil, nil),
        (#"{"type":7,"product":"A","ts":"2024-03-01T10:15:00Z"}"#, .unknownType, nil, nil),
        (#"{"type":"price","product":"A","ts":"2024-03-01T10:15:00Z","price":1}"#, .typeMismatch, .sale, nil),
        (#"{"type":"sale","ts":"2024-03-01T10:15:00Z"}"#, .missingProduct, nil, nil),
        (#"{"type":"sale","product":42,"ts":"2024-03-01T10:15:00Z"}"#, .badProduct, nil, nil),
        (#"{"type":"sale","product":"","ts":"2024-03-01T10:15:00Z"}"#, .badProduct, nil, nil),
        (#"{"type":"sale","product":"A","ts":"2024-03-01T10:15:00Z"}"#, .keyMismatch, nil, "B"),
        (#"{"type":"sale","product":"A"}"#, .missingTimestamp, nil, nil),
        (#"{"type":"sale","product":"A","ts":"yesterday"}"#, .badTimestamp, nil, nil),
        (#"{"type":"sale","product":"A","ts":"2024-02-30T10:15:00Z"}"#, .badTimestamp, nil, nil),
        (#"{"type":"sale","product":"A","ts":"2024-03-01T10:15:00"}"#, .badTimestamp, nil, nil),
        (#"{"type":"sale","product":"A","ts":"3024-03-01T10:15:00Z"}"#, .badTimestamp, nil, nil),
        (#"{"type":"sale","product":"A","ts":-5}"#, .badTimestamp, nil, nil),
        (#"{"type":"sale","product":"A","ts":"2024-03-01T10:15:00Z","units":"2"}"#, .badUnits, nil, nil),
        (#"{"type":"sale","product":"A","ts":"2024-03-01T10:15:00Z","units":1e300}"#, .badUnits, nil, nil),
        (#"{"type":"page_view","product":"A","ts":"2024-03-01T10:15:00Z","views":-1}"#, .badViews, nil, nil),
        (#"{"type":"price","product":"A","ts":"2024-03-01T10:15:00Z"}"#, .missingPrice, nil, nil),
        (#"{"type":"price","product":"A","ts":"2024-03-01T10:15:00Z","price":0}"#, .badPrice, nil, nil),
        (#"{"type":"price","product":"A","ts":"2024-03-01T10:15:00Z","price":-2}"#, .badPrice, nil, nil),
        (#"{"type":"price","product":"A","ts":"2024-03-01T10:15:00Z","price":2,"effective":"soon"}"#, .badEffective, nil, nil),
        (#"{"type":"price","product":"A","ts":"2024-03-01T10:15:00Z","price":2,"promo":"yes"}"#, .badPromo, nil, nil),
        (#"{"type":"sale","product":"A","ts":"2024-03-01T10:15:00Z","category":3}"#, .badCategory, nil, nil),
        ("{\"type\":\"sale\",\"product\":\"A\",\"ts\":\"2024-03-01T10:15:00Z\",\"pad\":\"" + String(repeating: "x", count: 1100) + "\"}", .oversized, nil, nil),
    ]

    @Test(arguments: 0..<bad.count) func rejectsBadEventWithReason(_ i: Int) {
        let (text, reason, kind, key) = Self.bad[i]
        guard case .failure(let bad) = decode(text, kind: kind, key: key) else {
            Issue.record("accepted: \(text)")
            return
        }
        #expect(bad.reason == reason, "\(text)")
    }

    /// Found by libFuzzer (scripts/fuzz.sh): product IDs with invalid UTF-8 were accepted and
    /// repaired with U+FFFD, which merges distinct IDs and changes them on the way out.
    @Test func invalidUTF8IdentifiersAreRejected() {
        let decoder = EventDecoder()
        func reason(_ bytes: [UInt8]) -> BadEventReason? {
            if case .failure(let bad) = decoder.decode(bytes) { return bad.reason }
            return nil
        }
        let head = Array(#"{"type":"sale","ts":"2024-03-01T10:15:00Z","product":"P"#.utf8)
        let product: [UInt8] = head + [0x89, 0x81] + Array(#""}"#.utf8)
        #expect(reason(product) == .badProduct)
        let surrogate: [UInt8] = head + Array(#"\ud800"}"#.utf8)
        #expect(reason(surrogate) == .malformedJSON, "a lone surrogate escape is no text at all")
        let category: [UInt8] = head + Array(#"1","category":"C"#.utf8) + [0xC3] + Array(#""}"#.utf8)
        #expect(reason(category) == .badCategory)
        let valid: [UInt8] = head + Array("é".utf8) + Array(#"\u00e9\ud83d\ude00"}"#.utf8)
        #expect(reason(valid) == nil, "valid UTF-8 and escapes, pairs included, are fine")
    }

    @Test func encoderRoundTrips() throws {
        let events = [
            Event(kind: .sale, product: "P\"1", time: 1_709_288_100_123, quantity: 2.5, category: "c"),
            Event(kind: .pageView, product: "P2", time: 1_709_288_100_000, quantity: 4),
            Event(kind: .price, product: "P3", time: 1_709_288_100_000, quantity: 12.99, effective: 1_709_600_000_000, promo: true),
        ]
        for e in events { #expect(try decode(EventEncoder.json(e)).get() == e) }
    }
}

@Suite struct TimestampTests {
    @Test func civilRoundTripAndFormat() {
        for days in stride(from: -1000, to: 80000, by: 37) {
            let (y, m, d) = Timestamp.civilFromDays(days)
            #expect(Timestamp.daysFromCivil(y, m, d) == days)
        }
        #expect(Timestamp.format(0) == "1970-01-01T00:00:00Z")
        #expect(Timestamp.format(Timestamp.parse("2024-02-29T23:59:59.250Z")!) == "2024-02-29T23:59:59.250Z")
        #expect(Timestamp.parse("2024-03-01T00:00:00-00:30")! == Timestamp.parse("2024-03-01T00:30:00Z")!)
        // Microseconds and longer fractions (Python's isoformat) keep the milliseconds; found by
        // `streamcast fuzz`: more than 3 fraction digits used to trap.
        #expect(Timestamp.parse("2024-03-01T10:14:02.123456Z")! == Timestamp.parse("2024-03-01T10:14:02.123Z")!)
        #expect(Timestamp.parse("2024-03-01T10:14:02.1234567890Z")! == Timestamp.parse("2024-03-01T10:14:02.123Z")!)
        #expect(Timestamp.parse("2024-03-01T10:14:02.5Z")! == Timestamp.parse("2024-03-01T10:14:02.500Z")!)
    }
}
