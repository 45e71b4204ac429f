/// Every way the store can fail, with the engine's reason and the operation that failed.
///
/// Descriptions name the operation, never the bound values (which may be user data).
public enum StoreError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The database file could not be opened.
    case openFailed(path: String, reason: String)
    /// An SQLite call failed; `operation` says which, `code` is SQLite's extended result code.
    case sqlite(operation: String, code: Int32, reason: String)
    /// A PostgreSQL statement failed; `sqlState` is PostgreSQL's error code.
    case postgres(operation: String, sqlState: String, reason: String)
    /// The database server cannot be reached (restarting, or down): nothing was written.
    case unavailable(reason: String)
    /// A query expected a row and got none.
    case noRow(operation: String)
    /// The database was written by a newer Haven with a schema this build does not know.
    case schemaTooNew(found: Int, supported: Int)
    /// The store has been closed; nothing more can be written.
    case closed
    /// A referenced row does not exist (e.g. a message for an unknown room).
    case notFound(String)
    /// The change conflicts with the current state (e.g. archiving an archived room).
    case conflict(String)
    /// Another process (a running server, a restore) holds the data folder.
    case folderInUse(path: String)

    public var description: String {
        switch self {
        case .openFailed(let path, let reason):
            return "cannot open database at \(path): \(reason)"
        case .sqlite(let operation, let code, let reason):
            return "\(operation) failed: \(reason) (SQLite code \(code))"
        case .postgres(let operation, let sqlState, let reason):
            return "\(operation) failed: \(reason) (PostgreSQL SQLSTATE \(sqlState))"
        case .unavailable(let reason):
            return "the database cannot be reached, so nothing was stored: \(reason)"
        case .noRow(let operation):
            return "\(operation) returned no row"
        case .schemaTooNew(let found, let supported):
            return "database schema version \(found) is newer than this Haven supports (\(supported)); upgrade Haven"
        case .closed:
            return "the store is closed"
        case .notFound(let what):
            return "\(what) does not exist"
        case .conflict(let what):
            return what
        case .folderInUse(let path):
            return "\(path) is in use by a running Haven server (or a restore): stop it first (systemctl stop haven)"
        }
    }
}
