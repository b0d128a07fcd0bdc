import CSQLite

/// A minimal SQLite connection: prepared statements, typed binds, explicit transactions.
/// The only file that touches the SQLite C API.
public final class SQLiteDatabase {
    private var db: OpaquePointer?
    public let path: String

    public init(path: String, readOnly: Bool = false) throws {
        self.path = path
        let flags = readOnly ? SQLITE_OPEN_READONLY : (SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE)
        let rc = sqlite3_open_v2(path, &db, flags | SQLITE_OPEN_NOMUTEX, nil)
        guard rc == SQLITE_OK else {
            let message = db.map { String(cString: sqlite3_errmsg($0)) } ?? "cannot open"
            sqlite3_close(db)
            throw CheckpointError.sqlite(code: rc, message: "\(path): \(message)")
        }
        sqlite3_busy_timeout(db, 5000)
    }

    deinit { sqlite3_close_v2(db) }

    public func execute(_ sql: String) throws {
        var err: UnsafeMutablePointer<CChar>?
        let rc = sqlite3_exec(db, sql, nil, nil, &err)
        if rc != SQLITE_OK {
            let message = err.map { String(cString: $0) } ?? "error \(rc)"
            sqlite3_free(err)
            throw CheckpointError.sqlite(code: rc, message: message)
        }
    }

    public func prepare(_ sql: String) throws -> Statement {
        var stmt: OpaquePointer?
        let rc = sqlite3_prepare_v2(db, sql, -1, &stmt, nil)
        guard rc == SQLITE_OK, let stmt else { throw error(rc) }
        return Statement(stmt, db: self)
    }

    func error(_ rc: Int32) -> CheckpointError {
        .sqlite(code: rc, message: String(cString: sqlite3_errmsg(db)))
    }

    /// Runs `body` in one IMMEDIATE transaction; rolls back if it throws.
    public func transaction<T>(_ body: () throws -> T) throws -> T {
        try execute("BEGIN IMMEDIATE")
        do {
            let result = try body()
            try execute("COMMIT")
            return result
        } catch {
            try? execute("ROLLBACK")
            throw error
        }
    }

    public final class Statement {
        private let stmt: OpaquePointer
        private let db: SQLiteDatabase

        init(_ stmt: OpaquePointer, db: SQLiteDatabase) {
            self.stmt = stmt
            self.db = db
        }

        deinit { sqlite3_finalize(stmt) }

        public enum Value {
            case int(Int64), text(String), blob([UInt8]), null
        }

        /// Binds, runs to completion (or calls `row` per result row) and resets.
        public func run(_ values: [Value] = [], row: ((Statement) throws -> Void)? = nil) throws {
            defer { sqlite3_reset(stmt); sqlite3_clear_bindings(stmt) }
            for (i, v) in values.enumerated() {
                let idx = Int32(i + 1)
                let rc: Int32
                switch v {
                case .int(let x): rc = sqlite3_bind_int64(stmt, idx, x)
                case .text(let s): rc = sqlite3_bind_text(stmt, idx, s, -1, sqliteTransient)
                case .blob(let b):
                    rc = b.withUnsafeBytes { sqlite3_bind_blob(stmt, idx, $0.baseAddress, Int32($0.count), sqliteTransient) }
                case .null: rc = sqlite3_bind_null(stmt, idx)
                }
                guard rc == SQLITE_OK else { throw db.error(rc) }
            }
            while true {
                let rc = sqlite3_step(stmt)
                if rc == SQLITE_DONE { return }
                guard rc == SQLITE_ROW else { throw db.error(rc) }
                try row?(self)
            }
        }

        public func int(_ col: Int32) -> Int64 { sqlite3_column_int64(stmt, col) }
        public func isNull(_ col: Int32) -> Bool { sqlite3_column_type(stmt, col) == SQLITE_NULL }
        public func text(_ col: Int32) -> String {
            sqlite3_column_text(stmt, col).map { String(cString: $0) } ?? ""
        }
        public func blob(_ col: Int32) -> [UInt8] {
            let n = Int(sqlite3_column_bytes(stmt, col))
            guard n > 0, let p = sqlite3_column_blob(stmt, col) else { return [] }
            return [UInt8](UnsafeRawBufferPointer(start: p, count: n))
        }
    }
}

private let sqliteTransient = unsafeBitCast(-1, to: sqlite3_destructor_type.self)

public enum CheckpointError: Error, CustomStringConvertible {
    case sqlite(code: Int32, message: String)
    case incompatible(String)

    public var description: String {
        switch self {
        case .sqlite(let code, let message): "SQLite error \(code): \(message)"
        case .incompatible(let why): "checkpoint incompatible with this configuration: \(why)"
        }
    }
}
