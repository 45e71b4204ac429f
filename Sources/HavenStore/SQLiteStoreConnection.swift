/// The store's SQLite connection: statements prepared once and cached.
final class SQLiteStoreConnection: StoreConnection {
    let sqlite: SQLiteConnection
    private var statements: [String: SQLiteStatement] = [:]

    init(_ sqlite: SQLiteConnection) {
        self.sqlite = sqlite
    }

    var engine: StoreEngine { .sqlite }

    var changes: Int { sqlite.changes }

    func run(_ sql: String, _ values: [StoreValue], until isEnough: ([[StoreValue]]) -> Bool) throws -> [[StoreValue]] {
        if let statement = statements[sql] { return try statement.query(values, until: isEnough) }
        let statement = try sqlite.prepare(sql)
        statements[sql] = statement
        return try statement.query(values, until: isEnough)
    }

    func execute(_ sql: String) throws {
        try sqlite.execute(sql)
    }

    func beginWriting() throws {
        // IMMEDIATE takes the write lock now, not at the first write (no upgrade deadlock).
        try sqlite.execute("BEGIN IMMEDIATE")
    }

    func commit() throws {
        try sqlite.execute("COMMIT")
    }
}
