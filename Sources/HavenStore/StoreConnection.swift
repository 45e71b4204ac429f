/// The database engines a store runs on.
public enum StoreEngine: String, Sendable, Equatable, CaseIterable {
    /// An embedded SQLite file: the default, one server process.
    case sqlite
    /// A PostgreSQL server, which several Haven nodes may share.
    case postgres
}

/// What the store's queries need of a connection; SQLite and PostgreSQL each provide one.
///
/// Queries are written once, in the SQL both engines read: `?` or `?N` parameters, `ON CONFLICT`,
/// `RETURNING`, `CAST`. Where the engines differ, a query asks ``engine``.
protocol StoreConnection: AnyObject {
    /// Which engine this is.
    var engine: StoreEngine { get }

    /// Runs `sql` with `values` through a statement prepared once and cached; with `isEnough`,
    /// rows stop being read once those read are enough.
    func run(_ sql: String, _ values: [StoreValue], until isEnough: ([[StoreValue]]) -> Bool) throws -> [[StoreValue]]

    /// Rows changed by the most recent INSERT, UPDATE or DELETE run.
    var changes: Int { get }

    /// Runs statements that take no parameters (`COMMIT`, `ROLLBACK`, maintenance).
    func execute(_ sql: String) throws

    /// Starts a transaction that will write: once it has begun, no other writer (another
    /// process on the same file, another node on the same server) writes until it ends.
    func beginWriting() throws

    /// Commits the transaction ``beginWriting()`` started; returns only if it committed.
    ///
    /// - Throws: ``StoreError`` when it did not commit, or when that cannot be known.
    func commit() throws
}
