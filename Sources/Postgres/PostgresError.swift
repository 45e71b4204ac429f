/// Every way a PostgreSQL call fails. Messages are PostgreSQL's primary message only (never the
/// detail lines, which may quote the values a statement carried).
public enum PostgresError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The server could not be reached, or the connection dropped (a restart, a network fault).
    case connectionFailed(reason: String)
    /// A statement failed; `sqlState` is PostgreSQL's five-character error code.
    case statementFailed(operation: String, sqlState: String, reason: String)
    /// A column or parameter of a type this wrapper does not read or write.
    case unsupportedType(oid: UInt32, operation: String)

    /// The SQLSTATE of a unique-constraint violation.
    public static let uniqueViolation = "23505"

    public var description: String {
        switch self {
        case .connectionFailed(let reason): "cannot reach PostgreSQL: \(reason)"
        case .statementFailed(let operation, let sqlState, let reason): "\(operation) failed: \(reason) (SQLSTATE \(sqlState))"
        case .unsupportedType(let oid, let operation): "\(operation): PostgreSQL type \(oid) is not supported"
        }
    }
}
