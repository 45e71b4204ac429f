import CSQLite

/// A prepared statement, finalized when released. Parameters are bound by position (1-based).
public final class SQLiteStatement {
    private let statement: OpaquePointer
    private let connection: SQLiteConnection

    init(statement: OpaquePointer, connection: SQLiteConnection) {
        self.statement = statement
        self.connection = connection
    }

    deinit {
        sqlite3_finalize(statement)
    }

    /// Resets the statement and binds `values` to its parameters in order.
    public func bind(_ values: [StoreValue]) throws {
        sqlite3_reset(statement)
        sqlite3_clear_bindings(statement)
        for (offset, value) in values.enumerated() {
            let index = Int32(offset + 1)
            let status: Int32
            switch value {
            case .null: status = sqlite3_bind_null(statement, index)
            case .integer(let number): status = sqlite3_bind_int64(statement, index, number)
            case .real(let number): status = sqlite3_bind_double(statement, index, number)
            case .text(let text): status = sqlite3_bind_text(statement, index, text, -1, transientDestructor)
            case .blob(let bytes):
                status = bytes.withUnsafeBytes { buffer in
                    sqlite3_bind_blob(statement, index, buffer.baseAddress, Int32(buffer.count), transientDestructor)
                }
            }
            try connection.check(status, "bind parameter \(index)")
        }
    }

    /// Binds `values` and runs the statement to completion, returning every row; or, with
    /// `isEnough`, only until the rows read so far are enough (the rest is never read).
    @discardableResult
    public func query(_ values: [StoreValue] = [], until isEnough: ([[StoreValue]]) -> Bool = { _ in false }) throws -> [[StoreValue]] {
        try bind(values)
        defer { sqlite3_reset(statement) }
        var rows: [[StoreValue]] = []
        while !isEnough(rows) {
            let status = sqlite3_step(statement)
            try connection.check(status, "step")
            guard status == SQLITE_ROW else { return rows }
            rows.append((0..<sqlite3_column_count(statement)).map(column))
        }
        return rows
    }

    private func column(_ index: Int32) -> StoreValue {
        switch sqlite3_column_type(statement, index) {
        case SQLITE_INTEGER: return .integer(sqlite3_column_int64(statement, index))
        case SQLITE_FLOAT: return .real(sqlite3_column_double(statement, index))
        case SQLITE_TEXT: return .text(String(cString: sqlite3_column_text(statement, index)))
        case SQLITE_BLOB:
            let count = Int(sqlite3_column_bytes(statement, index))
            guard count > 0, let base = sqlite3_column_blob(statement, index) else { return .blob([]) }
            return .blob(Array(UnsafeRawBufferPointer(start: base, count: count)))
        default: return .null
        }
    }
}

/// SQLITE_TRANSIENT: SQLite copies the bound bytes before the call returns.
private let transientDestructor = unsafeBitCast(-1, to: sqlite3_destructor_type.self)
