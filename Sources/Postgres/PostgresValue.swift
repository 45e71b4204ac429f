/// A value bound to, or read from, a PostgreSQL statement.
///
/// Integers of every width read as ``integer(_:)``, `bool` as ``boolean(_:)``, `bytea` as
/// ``bytes(_:)``, the character types as ``text(_:)``, the floating-point types as ``real(_:)``.
public enum PostgresValue: Equatable, Sendable {
    case null
    case integer(Int64)
    case real(Double)
    case text(String)
    case bytes([UInt8])
    case boolean(Bool)
}

/// What one statement returned: its rows, and how many rows it inserted, updated or deleted.
public struct PostgresResult: Sendable, Equatable {
    /// The rows, each a value per column.
    public var rows: [[PostgresValue]]
    /// Rows an INSERT, UPDATE or DELETE changed (0 for other statements).
    public var affectedRows: Int
}
