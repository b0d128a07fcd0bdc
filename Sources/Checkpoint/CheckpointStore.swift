/// The checkpoint: all streaming state and the input offsets it reflects, in one SQLite file.
///
/// Every `commit` is ONE transaction holding offsets, per-partition bookkeeping and the products
/// changed since the last commit, so state and offsets can never disagree: after a crash the
/// service restores exactly this and re-reads the input from these offsets.
/// State is keyed by partition number, so a partition can move between instances with its state.
public final class CheckpointStore {
    public struct StoredOffset: Hashable, Sendable {
        public var topic: String
        public var partition: Int32
        /// The next offset to read.
        public var next: Int64
        public init(topic: String, partition: Int32, next: Int64) {
            self.topic = topic
            self.partition = partition
            self.next = next
        }
    }

    public struct ProductRow: Sendable {
        public var partition: Int32
        public var slot: Int
        public var product: String
        public var window: [UInt8]
        public var forecaster: [UInt8]
        /// The drift monitor's state of the product (empty: none).
        public var monitor: [UInt8]
        public init(partition: Int32, slot: Int, product: String, window: [UInt8], forecaster: [UInt8], monitor: [UInt8] = []) {
            self.partition = partition
            self.slot = slot
            self.product = product
            self.window = window
            self.forecaster = forecaster
            self.monitor = monitor
        }
    }

    /// Where a partition's state stands in the state changelog topic: the sequence number of
    /// its newest commit record and the changelog offset after it. A partition whose changelog
    /// still ends there is current in this file.
    public struct ChangelogPosition: Sendable, Equatable {
        public var seq: Int64
        public var end: Int64
        public init(seq: Int64, end: Int64) {
            self.seq = seq
            self.end = end
        }
    }

    /// What one checkpoint writes.
    public struct Batch: Sendable {
        public var offsets: [StoredOffset] = []
        public var partitions: [(partition: Int32, state: [UInt8])] = []
        public var products: [ProductRow] = []
        public var changelog: [Int32: ChangelogPosition] = [:]
        /// Instance-level state by name (e.g. the drift monitor's fleet and categories).
        public var instance: [String: String] = [:]
        public init() {}

        /// This batch with a newer one laid over it: the newer offsets, partition states and
        /// product rows win; rows only this one has are kept. A batch whose commit failed is merged
        /// into the next one, so products changed before the failure are not lost on retry.
        public func merging(_ newer: Batch) -> Batch {
            var out = newer
            let newerOffsets = Set(newer.offsets.map { "\($0.topic)\u{0}\($0.partition)" })
            out.offsets += offsets.filter { !newerOffsets.contains("\($0.topic)\u{0}\($0.partition)") }
            let newerPartitions = Set(newer.partitions.map(\.partition))
            out.partitions += partitions.filter { !newerPartitions.contains($0.partition) }
            let newerProducts = Set(newer.products.map { "\($0.partition)\u{0}\($0.product)" })
            out.products = products.filter { !newerProducts.contains("\($0.partition)\u{0}\($0.product)") } + newer.products
            out.changelog = changelog.merging(newer.changelog) { $1 }
            out.instance = instance.merging(newer.instance) { $1 }
            return out
        }
    }

    public let path: String
    private(set) var db: SQLiteDatabase
    private var upsertOffset: SQLiteDatabase.Statement
    private var upsertPartition: SQLiteDatabase.Statement
    private var upsertProduct: SQLiteDatabase.Statement
    private var upsertChangelog: SQLiteDatabase.Statement

    public init(path: String) throws {
        self.path = path
        (db, upsertOffset, upsertPartition, upsertProduct, upsertChangelog) = try Self.open(path)
    }

    /// Closes the connection and opens the file again. A connection that SQLite opened read-only
    /// (the file was not writable then) stays read-only, so a retry after the operator fixed the
    /// permissions or freed the disk starts from a fresh connection.
    public func reopen() throws {
        (db, upsertOffset, upsertPartition, upsertProduct, upsertChangelog) = try Self.open(path)
    }

    private typealias Opened = (SQLiteDatabase, SQLiteDatabase.Statement, SQLiteDatabase.Statement, SQLiteDatabase.Statement, SQLiteDatabase.Statement)

    private static func open(_ path: String) throws -> Opened {
        let db = try SQLiteDatabase(path: path)
        try db.execute("""
            PRAGMA journal_mode=WAL;
            PRAGMA synchronous=NORMAL;
            CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
            CREATE TABLE IF NOT EXISTS offsets(topic TEXT NOT NULL, partition INTEGER NOT NULL,
                next_offset INTEGER NOT NULL, PRIMARY KEY(topic, partition));
            CREATE TABLE IF NOT EXISTS partitions(partition INTEGER PRIMARY KEY, state BLOB NOT NULL);
            CREATE TABLE IF NOT EXISTS products(partition INTEGER NOT NULL, product TEXT NOT NULL,
                slot INTEGER NOT NULL, window BLOB NOT NULL, forecaster BLOB NOT NULL,
                PRIMARY KEY(partition, product));
            CREATE TABLE IF NOT EXISTS changelog(partition INTEGER PRIMARY KEY, seq INTEGER NOT NULL, end_offset INTEGER NOT NULL);
            """)
        // Files written before the monitor's state was checkpointed gain its column (empty).
        var hasMonitor = false
        try db.prepare("SELECT name FROM pragma_table_info('products')").run { if $0.text(0) == "monitor" { hasMonitor = true } }
        if !hasMonitor { try db.execute("ALTER TABLE products ADD COLUMN monitor BLOB NOT NULL DEFAULT x''") }
        return (db,
                try db.prepare("INSERT INTO offsets VALUES(?,?,?) ON CONFLICT(topic, partition) DO UPDATE SET next_offset=excluded.next_offset"),
                try db.prepare("INSERT INTO partitions VALUES(?,?) ON CONFLICT(partition) DO UPDATE SET state=excluded.state"),
                try db.prepare("INSERT INTO products(partition, product, slot, window, forecaster, monitor) VALUES(?,?,?,?,?,?) ON CONFLICT(partition, product) DO UPDATE SET slot=excluded.slot, window=excluded.window, forecaster=excluded.forecaster, monitor=excluded.monitor"),
                try db.prepare("INSERT INTO changelog VALUES(?,?,?) ON CONFLICT(partition) DO UPDATE SET seq=excluded.seq, end_offset=excluded.end_offset"))
    }

    /// Stores the layout of the forecaster's per-product state (`Forecaster.stateLayout`). If the
    /// file holds states of another layout — a model with another error memory deployed by a
    /// restart — those states are cleared (windows, offsets and the rest kept: the products keep
    /// their history and start a fresh memory) and the old layout is returned for the caller to
    /// log; read as the new layout they would be errors of forecasts that were never made.
    /// A file from before this key: its states are taken to be of this layout.
    @discardableResult
    public func bind(forecasterState layout: String) throws -> String? {
        var existing: String?
        try db.prepare("SELECT value FROM meta WHERE key='forecaster_state'").run { existing = $0.text(0) }
        guard existing != layout else { return nil }
        try db.transaction {
            if existing != nil { try db.execute("UPDATE products SET forecaster = x''") }
            try db.prepare("INSERT INTO meta VALUES('forecaster_state', ?) ON CONFLICT(key) DO UPDATE SET value=excluded.value").run([.text(layout)])
        }
        return existing
    }

    /// Stores `fingerprint` on first use; refuses a file written under a different one (e.g. another
    /// period or window length), which would silently corrupt forecasts.
    public func bind(fingerprint: String) throws {
        var existing: String?
        try db.prepare("SELECT value FROM meta WHERE key='fingerprint'").run { existing = $0.text(0) }
        if let existing, existing != fingerprint {
            throw CheckpointError.incompatible("state file \(db.path) was written with [\(existing)], now [\(fingerprint)]; use another --state file or delete this one")
        }
        if existing == nil {
            try db.prepare("INSERT INTO meta VALUES('fingerprint', ?)").run([.text(fingerprint)])
        }
    }

    public func commit(_ batch: Batch) throws {
        try db.transaction {
            for o in batch.offsets { try upsertOffset.run([.text(o.topic), .int(Int64(o.partition)), .int(o.next)]) }
            for p in batch.partitions { try upsertPartition.run([.int(Int64(p.partition)), .blob(p.state)]) }
            for r in batch.products {
                try upsertProduct.run([.int(Int64(r.partition)), .text(r.product), .int(Int64(r.slot)), .blob(r.window), .blob(r.forecaster), .blob(r.monitor)])
            }
            for (p, c) in batch.changelog { try upsertChangelog.run([.int(Int64(p)), .int(c.seq), .int(c.end)]) }
            for (key, value) in batch.instance.sorted(by: { $0.key < $1.key }) {
                try db.prepare("INSERT INTO meta VALUES(?, ?) ON CONFLICT(key) DO UPDATE SET value=excluded.value").run([.text("instance." + key), .text(value)])
            }
        }
    }

    /// Instance-level state stored by `commit` (nil: none).
    public func instanceState(_ key: String) throws -> String? {
        var value: String?
        try db.prepare("SELECT value FROM meta WHERE key=?").run([.text("instance." + key)]) { value = $0.text(0) }
        return value
    }

    /// Replaces everything stored for one partition (its products, bookkeeping, input offsets and
    /// changelog position) in one transaction: a partition restored from the changelog.
    public func replace(partition p: Int32, state: [UInt8], offsets: [StoredOffset], products: [ProductRow],
                        changelog: ChangelogPosition) throws {
        try db.transaction {
            try db.prepare("DELETE FROM products WHERE partition=?").run([.int(Int64(p))])
            try db.prepare("DELETE FROM offsets WHERE partition=?").run([.int(Int64(p))])
            try upsertPartition.run([.int(Int64(p)), .blob(state)])
            for o in offsets { try upsertOffset.run([.text(o.topic), .int(Int64(p)), .int(o.next)]) }
            for r in products {
                try upsertProduct.run([.int(Int64(p)), .text(r.product), .int(Int64(r.slot)), .blob(r.window), .blob(r.forecaster), .blob(r.monitor)])
            }
            try upsertChangelog.run([.int(Int64(p)), .int(changelog.seq), .int(changelog.end)])
        }
    }

    /// Where this file's state of a partition stands in the changelog (nil: never written there).
    public func changelogPosition(_ partition: Int32) throws -> ChangelogPosition? {
        var out: ChangelogPosition?
        try db.prepare("SELECT seq, end_offset FROM changelog WHERE partition=?").run([.int(Int64(partition))]) {
            out = ChangelogPosition(seq: $0.int(0), end: $0.int(1))
        }
        return out
    }

    public func offsets() throws -> [StoredOffset] {
        var out: [StoredOffset] = []
        try db.prepare("SELECT topic, partition, next_offset FROM offsets ORDER BY topic, partition").run {
            out.append(StoredOffset(topic: $0.text(0), partition: Int32($0.int(1)), next: $0.int(2)))
        }
        return out
    }

    public func partitionState(_ partition: Int32) throws -> [UInt8]? {
        var out: [UInt8]?
        try db.prepare("SELECT state FROM partitions WHERE partition=?").run([.int(Int64(partition))]) { out = $0.blob(0) }
        return out
    }

    /// The partition's products in slot order (first-seen order, which fixes emission order).
    public func products(partition: Int32) throws -> [ProductRow] {
        var out: [ProductRow] = []
        try db.prepare("SELECT product, slot, window, forecaster, monitor FROM products WHERE partition=? ORDER BY slot").run([.int(Int64(partition))]) {
            out.append(ProductRow(partition: partition, slot: Int($0.int(1)), product: $0.text(0), window: $0.blob(2), forecaster: $0.blob(3),
                                  monitor: $0.blob(4)))
        }
        return out
    }
}
