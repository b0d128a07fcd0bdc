/// The input event kinds of the contract (docs/architecture.md, docs/contracts.md): sales, page
/// views and prices feed the forecasts; inventory snapshots and cost policies (both optional) feed
/// the order recommendations.
public enum EventKind: UInt8, Sendable, CaseIterable {
    case sale = 0, pageView = 1, price = 2, inventory = 3, costs = 4

    /// The `type` field's value on the wire.
    public var wireName: String {
        switch self {
        case .sale: "sale"
        case .pageView: "page_view"
        case .price: "price"
        case .inventory: "inventory"
        case .costs: "costs"
        }
    }
}

/// One validated event. Times are epoch milliseconds (UTC).
public struct Event: Sendable, Equatable {
    public var kind: EventKind
    public var product: String
    public var time: Int64
    /// Units for a sale (negative = return), views for a page view, the price for a price event,
    /// units on hand (negative = backordered) for an inventory snapshot.
    public var quantity: Double
    /// When a price takes effect (= `time` unless a future change was announced); `time` otherwise.
    public var effective: Int64
    public var promo: Bool
    public var category: String?
    /// Units ordered and not yet arrived (inventory snapshots).
    public var onOrder: Double = 0
    /// A costs event's policy keys and their values as written (checked by the pipeline against
    /// the policy keys it knows).
    public var policy: [String: String] = [:]

    public init(kind: EventKind, product: String, time: Int64, quantity: Double,
                effective: Int64? = nil, promo: Bool = false, category: String? = nil) {
        self.kind = kind
        self.product = product
        self.time = time
        self.quantity = quantity
        self.effective = effective ?? time
        self.promo = promo
        self.category = category
    }
}

/// Why an event was rejected; the string is what the dead-letter message carries.
public enum BadEventReason: String, Sendable, CaseIterable {
    case oversized
    case malformedJSON = "malformed_json"
    case notAnObject = "not_an_object"
    case missingType = "missing_type"
    case unknownType = "unknown_type"
    case typeMismatch = "type_mismatch"
    case missingProduct = "missing_product"
    case badProduct = "bad_product"
    case keyMismatch = "key_mismatch"
    case missingTimestamp = "missing_ts"
    case badTimestamp = "bad_ts"
    case badUnits = "bad_units"
    case badViews = "bad_views"
    case missingPrice = "missing_price"
    case badPrice = "bad_price"
    case badEffective = "bad_effective"
    case badPromo = "bad_promo"
    case badCategory = "bad_category"
    case badInventory = "bad_inventory"
    case badCosts = "bad_costs"
    /// Arrived after its period had closed (watermark passed period end + allowed lateness).
    case late
    /// Event time implausibly far ahead of the partition's watermark.
    case tooFarInFuture = "too_far_in_future"
}

/// An event that failed validation, with the detail shown to operators.
public struct BadEvent: Error, Sendable, Equatable {
    public var reason: BadEventReason
    public var detail: String
    public init(_ reason: BadEventReason, _ detail: String = "") {
        self.reason = reason
        self.detail = detail
    }
}
