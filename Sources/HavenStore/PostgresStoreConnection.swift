import Postgres

/// The store's PostgreSQL connection: the store's SQL with its parameters renumbered for
/// PostgreSQL (`?` and `?N` become `$N`), values mapped both ways, and the connection made
/// again at the next transaction after it dropped.
final class PostgresStoreConnection: StoreConnection {
    private let postgres: PostgresConnection
    private var translated: [String: String] = [:]
    private var lastChanges = 0
    private var inTransaction = false

    /// Every write transaction of every node takes this advisory lock first, so writes commit in
    /// the order they were numbered (cursors, log positions), as SQLite's single writer does.
    static let writeLock = 0x4861_7665_6E

    /// Connects to `url`; every session (and every one after a reconnect) waits for the WAL flush
    /// of each commit only with `synchronousCommit`, gives up waiting for the write lock after
    /// 15 s (a node that hung holding it must not stop every other's writes), and is ended by the
    /// server if it sits in a transaction for 30 s.
    init(url: String, synchronousCommit: Bool) throws {
        let setup = """
            SET synchronous_commit = \(synchronousCommit ? "on" : "off");
            SET lock_timeout = '15s';
            SET idle_in_transaction_session_timeout = '30s'
            """
        do { postgres = try PostgresConnection(url: url, sessionSetup: setup) } catch { throw StoreError(error) }
    }

    var engine: StoreEngine { .postgres }

    var changes: Int { lastChanges }

    func run(_ sql: String, _ values: [StoreValue], until isEnough: ([[StoreValue]]) -> Bool) throws -> [[StoreValue]] {
        try reconnectOutsideTransaction()
        let result: PostgresResult
        do { result = try postgres.query(numbered(sql), values.map(Self.postgresValue)) } catch { throw StoreError(error) }
        lastChanges = result.affectedRows
        var rows: [[StoreValue]] = []
        for row in result.rows {
            guard !isEnough(rows) else { break }
            rows.append(row.map(Self.storeValue))
        }
        return rows
    }

    /// Most statements sent in one pipeline: libpq keeps every result of a pipeline until it is read.
    static let pipelineChunk = 256

    /// Runs `statements` in order as ``run(_:_:until:)`` would (all rows read), sent pipelined
    /// (one round trip for up to ``pipelineChunk``), and stops at the first that fails: the
    /// results end with its failure.
    ///
    /// - Throws: ``StoreError`` when the connection fails (nothing is known of what ran).
    func runPipelined(_ statements: [(sql: String, values: [StoreValue])]) throws -> [Result<[[StoreValue]], StoreError>] {
        try reconnectOutsideTransaction()
        var results: [Result<[[StoreValue]], StoreError>] = []
        for start in stride(from: 0, to: statements.count, by: Self.pipelineChunk) {
            let chunk = statements[start..<min(start + Self.pipelineChunk, statements.count)].map { statement in
                (sql: numbered(statement.sql), parameters: statement.values.map(Self.postgresValue))
            }
            let answers: [Result<PostgresResult, PostgresError>]
            do { answers = try postgres.pipeline(chunk) } catch { throw StoreError(error) }
            for answer in answers {
                switch answer {
                case .success(let result): results.append(.success(result.rows.map { $0.map(Self.storeValue) }))
                case .failure(let error):
                    results.append(.failure(StoreError(error)))
                    return results
                }
            }
        }
        return results
    }

    func execute(_ sql: String) throws {
        let ending = sql == "ROLLBACK"
        if !ending { try reconnectOutsideTransaction() }
        defer {
            if ending { inTransaction = false }
        }
        do { try postgres.execute(sql) } catch { throw StoreError(error) }
    }

    /// Begins, taking the write lock. A connection found dropped here (the server restarted
    /// since the last transaction) is made again and the transaction begun once more: nothing
    /// had been sent in it.
    func beginWriting() throws {
        for attempt in 1...2 {
            try reconnectOutsideTransaction()
            do throws(PostgresError) {
                try postgres.execute("BEGIN; SELECT pg_advisory_xact_lock(\(Self.writeLock))")
                inTransaction = true
                return
            } catch .connectionFailed where attempt == 1 {
                continue
            } catch { throw StoreError(error) }
        }
    }

    /// This connection's row in `commit_markers`: each transaction that wrote leaves a new token
    /// there as it commits, by which its fate is known when the COMMIT's answer is lost.
    private let writer = (0..<16).map { _ in UInt8.random(in: .min ... .max) }

    /// Commits. A transaction that wrote also replaces this connection's commit marker, in the
    /// same round trip: when the connection drops before COMMIT's answer arrives, the store
    /// connects again and reads the marker, so what committed is reported stored, and only that.
    /// (A transaction id could not tell: after a crash, one never committed may be handed out
    /// again.) A transaction that only read is reported failed then, which loses nothing.
    func commit() throws {
        defer { inTransaction = false }
        let token = (0..<16).map { _ in UInt8.random(in: .min ... .max) }
        let mark = """
            INSERT INTO commit_markers (writer, token) SELECT CAST($1 AS bytea), CAST($2 AS bytea)
            WHERE txid_current_if_assigned() IS NOT NULL
            ON CONFLICT (writer) DO UPDATE SET token = excluded.token
            """
        let answers: [Result<PostgresResult, PostgresError>]
        do {
            answers = try postgres.pipeline([(mark, [.bytes(writer), .bytes(token)]), ("COMMIT", [])])
        } catch let failure {
            guard case .connectionFailed = failure else { throw StoreError(failure) }
            let marker: PostgresValue?
            do {
                try postgres.reconnect()
                marker = try postgres.query("SELECT token FROM commit_markers WHERE writer = $1", [.bytes(writer)]).rows.first?.first
            } catch { throw StoreError(failure) }
            guard marker == .bytes(token) else { throw StoreError(failure) }
            return
        }
        for answer in answers {
            if case .failure(let error) = answer {
                try? execute("ROLLBACK")
                throw StoreError(error)
            }
        }
    }

    /// `sql` in PostgreSQL's parameter numbering, translated once.
    private func numbered(_ sql: String) -> String {
        if let statement = translated[sql] { return statement }
        let statement = Self.numberParameters(sql)
        translated[sql] = statement
        return statement
    }

    /// A dropped connection is made again only between transactions: inside one, the statements
    /// before the drop are gone, and the transaction must fail as a whole.
    private func reconnectOutsideTransaction() throws {
        guard !inTransaction, !postgres.isConnected else { return }
        do { try postgres.reconnect() } catch { throw StoreError(error) }
    }

    /// `sql` with SQLite's `?` and `?N` parameters written as PostgreSQL's `$N` (outside quotes).
    static func numberParameters(_ sql: String) -> String {
        var result = ""
        var next = 1
        var quoted = false
        var characters = sql.makeIterator()
        var pending = characters.next()
        while let character = pending {
            pending = characters.next()
            if character == "'" { quoted.toggle() }
            guard character == "?", !quoted else {
                result.append(character)
                continue
            }
            var digits = ""
            while let digit = pending, digit.isASCII, digit.isNumber {
                digits.append(digit)
                pending = characters.next()
            }
            if digits.isEmpty {
                digits = String(next)
                next += 1
            }
            result += "$" + digits
        }
        return result
    }

    private static func postgresValue(_ value: StoreValue) -> PostgresValue {
        switch value {
        case .null: .null
        case .integer(let number): .integer(number)
        case .real(let number): .real(number)
        case .text(let text): .text(text)
        case .blob(let bytes): .bytes(bytes)
        }
    }

    private static func storeValue(_ value: PostgresValue) -> StoreValue {
        switch value {
        case .null: .null
        case .integer(let number): .integer(number)
        case .real(let number): .real(number)
        case .text(let text): .text(text)
        case .bytes(let bytes): .blob(bytes)
        case .boolean(let flag): .integer(flag ? 1 : 0)
        }
    }
}

extension StoreError {
    /// The store's account of a PostgreSQL failure.
    init(_ error: any Error) {
        switch error as? PostgresError {
        case .connectionFailed(let reason)?: self = .unavailable(reason: reason)
        case .statementFailed(let operation, let sqlState, let reason)?: self = .postgres(operation: operation, sqlState: sqlState, reason: reason)
        case .unsupportedType?: self = .postgres(operation: "read a result", sqlState: "0A000", reason: "\(error)")
        case nil: self = error as? StoreError ?? .postgres(operation: "store operation", sqlState: "XX000", reason: "\(error)")
        }
    }
}
