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

    func runPipelined(_ statements: [(sql: String, values: [StoreValue])]) throws -> [Result<[[StoreValue]], StoreError>] {
        var results: [Result<[[StoreValue]], StoreError>] = []
        for statement in statements {
            do {
                results.append(.success(try run(statement.sql, statement.values) { _ in false }))
            } catch {
                results.append(.failure(error as? StoreError ?? .sqlite(operation: "query", code: -1, reason: "\(error)")))
                break
            }
        }
        return results
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
