/// Every way the store can fail, with the SQLite reason and the operation that failed.
///
/// Descriptions name the operation, never the bound values (which may be user data).
public enum StoreError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The database file could not be opened.
    case openFailed(path: String, reason: String)
    /// An SQLite call failed; `operation` says which, `code` is SQLite's extended result code.
    case sqlite(operation: String, code: Int32, reason: String)
    /// A query expected a row and got none.
    case noRow(operation: String)

    public var description: String {
        switch self {
        case .openFailed(let path, let reason):
            return "cannot open database at \(path): \(reason)"
        case .sqlite(let operation, let code, let reason):
            return "\(operation) failed: \(reason) (SQLite code \(code))"
        case .noRow(let operation):
            return "\(operation) returned no row"
        }
    }
}
