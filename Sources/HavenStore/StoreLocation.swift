import Foundation

/// Where a store keeps its data: an embedded SQLite file (the default) or a PostgreSQL database
/// that several nodes may share.
public enum StoreLocation: Sendable, Equatable, CustomStringConvertible {
    /// The SQLite database file at `path`.
    case sqlite(path: String)
    /// The PostgreSQL database at `url` (`postgres://user:password@host:port/database`).
    case postgres(url: String)

    /// A `postgres://` or `postgresql://` URL names a PostgreSQL database; anything else is the
    /// path of a SQLite file.
    public init(_ text: String) {
        let isURL = text.hasPrefix("postgres://") || text.hasPrefix("postgresql://")
        self = isURL ? .postgres(url: text) : .sqlite(path: text)
    }

    /// The engine it runs on.
    public var engine: StoreEngine {
        switch self {
        case .sqlite: .sqlite
        case .postgres: .postgres
        }
    }

    /// What logs and messages may show: the file, or PostgreSQL's host, port and database
    /// (never the user name or password a URL carries).
    public var description: String {
        switch self {
        case .sqlite(let path):
            return path
        case .postgres(let url):
            let components = URLComponents(string: url)
            let host = components?.host.flatMap { $0.isEmpty ? nil : $0 } ?? "the local socket"
            let port = components?.port.map { ":\($0)" } ?? ""
            let database = components?.path.dropFirst() ?? ""
            return "PostgreSQL database \(database.isEmpty ? "(default)" : String(database)) at \(host)\(port)"
        }
    }
}
