import CPostgres
import Glibc

/// One PostgreSQL connection over libpq: the only place in Haven that calls libpq.
///
/// A connection belongs to one thread at a time (Haven's store writer). Statements run with
/// ``query(_:_:)`` are prepared once and kept by the server for the connection's life; values
/// travel in binary. After the connection drops (a server restart), calls fail with
/// ``PostgresError/connectionFailed(reason:)`` until ``reconnect()`` succeeds.
public final class PostgresConnection {
    private let handle: OpaquePointer
    private var prepared: [String: PreparedStatement] = [:]
    private var statementsPrepared = 0
    /// A failure left the connection unusable (the server went away, or a pipeline was cut
    /// short with results unread), though libpq may not know yet: only a reconnect mends it.
    private var mustReconnect = false
    /// Statements that set the session up, run at connecting and again after each reconnect.
    private let sessionSetup: String

    private struct PreparedStatement {
        let name: String
        let parameterTypes: [UInt32]
    }

    /// Connects to the server `url` names (`postgres://user@host:port/database`, or libpq's
    /// `key=value` form; a Unix socket is `?host=/path/to/folder`), then runs `sessionSetup`
    /// (and again after every reconnect). Unless the URL says otherwise, connecting waits at most
    /// 10 s, TCP keepalives find a server that went silent within about a minute, and what was
    /// sent and not acknowledged for 30 s ends the connection.
    ///
    /// - Throws: ``PostgresError/connectionFailed(reason:)`` (its reason never quotes the URL,
    ///   which may hold a password).
    public init(url: String, sessionSetup: String = "") throws(PostgresError) {
        // Defaults first: what the URL (expanded from `dbname`) names overrides them.
        let keys = ["connect_timeout", "keepalives", "keepalives_idle", "keepalives_interval", "keepalives_count", "tcp_user_timeout", "dbname"]
        let values = ["10", "1", "30", "10", "3", "30000", url]
        let opened = keys.withCStrings { keyPointers in values.withCStrings { valuePointers in PQconnectdbParams(keyPointers, valuePointers, 1) } }
        guard let handle = opened else { throw PostgresError.connectionFailed(reason: "out of memory") }
        guard PQstatus(handle) == CONNECTION_OK else {
            let reason = Self.message(PQerrorMessage(handle))
            PQfinish(handle)
            throw PostgresError.connectionFailed(reason: Self.withoutSecrets(reason, of: url))
        }
        self.handle = handle
        self.sessionSetup = sessionSetup
        // Primary messages only (the detail lines may quote values); notices are not printed.
        PQsetErrorVerbosity(handle, PQERRORS_TERSE)
        PQsetNoticeProcessor(handle, { _, _ in }, nil)
        if !sessionSetup.isEmpty { try execute(sessionSetup) }
    }

    /// `reason` with nothing of `url` that could be secret: libpq quotes a URL it cannot parse,
    /// or the part of it that failed.
    private static func withoutSecrets(_ reason: String, of url: String) -> String {
        let parts = url.split(whereSeparator: { ":/@?&=".contains($0) }).filter { $0.count >= 4 }
        guard reason.contains(url) || parts.contains(where: { reason.contains($0) }) else { return reason }
        return "the connection URL could not be used (check its form; it is not repeated here, as it may hold a password)"
    }

    deinit {
        PQfinish(handle)
    }

    /// Whether the connection is up (as far as libpq knows: a dropped connection shows once a
    /// call has failed on it).
    public var isConnected: Bool { !mustReconnect && PQstatus(handle) == CONNECTION_OK }

    /// Connects again with the same settings; statements are prepared afresh as they are used.
    ///
    /// - Throws: ``PostgresError/connectionFailed(reason:)`` while the server is unreachable.
    public func reconnect() throws(PostgresError) {
        prepared = [:]
        mustReconnect = false
        PQreset(handle)
        guard isConnected else { throw PostgresError.connectionFailed(reason: Self.message(PQerrorMessage(handle))) }
        if !sessionSetup.isEmpty { try execute(sessionSetup) }
    }

    /// Runs one or more statements that take no parameters (schema, `BEGIN`, `COMMIT`).
    ///
    /// - Throws: ``PostgresError``.
    public func execute(_ sql: String) throws(PostgresError) {
        _ = try result(PQexec(handle, sql), operation: "execute", readingRows: false)
    }

    /// Runs `sql` (parameters `$1`, `$2`, …) with `parameters`, through a statement prepared on
    /// first use; each parameter is encoded for the type the server gave it.
    ///
    /// - Throws: ``PostgresError``.
    @discardableResult
    public func query(_ sql: String, _ parameters: [PostgresValue] = []) throws(PostgresError) -> PostgresResult {
        let statement = try prepare(sql)
        let pointer = try withBound(parameters, of: statement) { count, values, lengths, formats in
            PQexecPrepared(handle, statement.name, count, values, lengths, formats, 1)
        }
        return try result(pointer, operation: "query")
    }

    /// Runs `statements` in pipeline mode: all are sent before the first result is read, so a
    /// batch costs one round trip instead of one per statement. Each gets its own result; once
    /// one fails, those after it fail too, untried. The pipeline is one transaction: outside an
    /// explicit one, a failure takes back the statements before it too (inside one, the
    /// transaction is aborted: roll it back).
    ///
    /// - Throws: ``PostgresError/connectionFailed(reason:)`` when the connection drops (nothing
    ///   can be known of which statements ran), or a statement's error when it cannot be prepared.
    public func pipeline(_ statements: [(sql: String, parameters: [PostgresValue])]) throws(PostgresError) -> [Result<PostgresResult, PostgresError>] {
        // Preparing needs answers of its own, so it happens before the pipeline starts.
        var prepared: [PreparedStatement] = []
        for statement in statements { prepared.append(try prepare(statement.sql)) }
        guard PQenterPipelineMode(handle) == 1 else { throw lost() }
        var answered = false
        defer { if PQexitPipelineMode(handle) != 1 || !answered { mustReconnect = true } }
        for (statement, values) in zip(prepared, statements.map(\.parameters)) {
            let sent = try withBound(values, of: statement) { count, values, lengths, formats in
                PQsendQueryPrepared(handle, statement.name, count, values, lengths, formats, 1)
            }
            guard sent == 1 else { throw lost() }
        }
        guard PQpipelineSync(handle) == 1 else { throw lost() }
        var results: [Result<PostgresResult, PostgresError>] = []
        for _ in statements {
            guard let pointer = PQgetResult(handle) else { throw lost() }
            if PQresultStatus(pointer) == PGRES_PIPELINE_ABORTED {
                PQclear(pointer)
                results.append(.failure(.statementFailed(
                    operation: "query", sqlState: "25P02", reason: "not run: a statement before it in the pipeline failed")))
            } else {
                do throws(PostgresError) { results.append(.success(try result(pointer, operation: "query"))) } catch {
                    guard case .statementFailed = error else { throw error }
                    results.append(.failure(error))
                }
            }
            // Each statement's results end with a null.
            guard PQgetResult(handle) == nil else { throw lost() }
        }
        guard let sync = PQgetResult(handle) else { throw lost() }
        defer { PQclear(sync) }
        guard PQresultStatus(sync) == PGRES_PIPELINE_SYNC else { throw lost() }
        answered = true
        return results
    }

    /// Calls `body` with `parameters` encoded for `statement`'s types, in the form libpq takes
    /// them (count, values, lengths, formats), valid while `body` runs.
    private func withBound<Result>(
        _ parameters: [PostgresValue], of statement: PreparedStatement,
        _ body: (Int32, [UnsafePointer<CChar>?], [Int32], [Int32]) -> Result
    ) throws(PostgresError) -> Result {
        guard statement.parameterTypes.count == parameters.count else {
            throw PostgresError.statementFailed(
                operation: "bind", sqlState: "08P01",
                reason: "the statement takes \(statement.parameterTypes.count) parameters, \(parameters.count) given")
        }
        var encoded: [PostgresBinaryFormat.Encoded?] = []
        for (value, type) in zip(parameters, statement.parameterTypes) { encoded.append(try PostgresBinaryFormat.encode(value, as: type)) }
        // One buffer holds every parameter's bytes, so each has a stable address during the call.
        let buffer = encoded.flatMap { $0?.bytes ?? [] }
        let lengths = encoded.map { Int32($0?.bytes.count ?? 0) }
        let formats = encoded.map { $0?.format ?? 1 }
        return buffer.withUnsafeBufferPointer { bytes in
            var offset = 0
            let pointers: [UnsafePointer<CChar>?] = encoded.map { parameter in
                guard let parameter else { return nil }
                defer { offset += parameter.bytes.count }
                // A zero-length value still needs a non-null pointer (NULL means SQL NULL).
                let base = UnsafeRawPointer(bytes.baseAddress ?? UnsafePointer(bitPattern: 1)!)
                return (base + offset).assumingMemoryBound(to: CChar.self)
            }
            return body(Int32(parameters.count), pointers, lengths, formats)
        }
    }

    private func prepare(_ sql: String) throws(PostgresError) -> PreparedStatement {
        if let statement = prepared[sql] { return statement }
        // A name never used before on this connection, even after a prepare failed.
        statementsPrepared += 1
        let name = "haven_\(statementsPrepared)"
        _ = try result(PQprepare(handle, name, sql, 0, nil), operation: "prepare")
        guard let description = PQdescribePrepared(handle, name) else { throw lost() }
        defer { PQclear(description) }
        guard PQresultStatus(description) == PGRES_COMMAND_OK else { _ = try result(description, operation: "describe", freeing: false); throw lost() }
        let types = (0..<PQnparams(description)).map { UInt32(PQparamtype(description, $0)) }
        let statement = PreparedStatement(name: name, parameterTypes: types)
        prepared[sql] = statement
        return statement
    }

    /// Reads a result (its rows too, when `readingRows`: they are in binary) and frees it; a
    /// failure becomes a ``PostgresError``.
    private func result(_ pointer: OpaquePointer?, operation: String, readingRows: Bool = true, freeing: Bool = true) throws(PostgresError) -> PostgresResult {
        guard let pointer else { throw lost() }
        defer { if freeing { PQclear(pointer) } }
        switch PQresultStatus(pointer) {
        case PGRES_COMMAND_OK, PGRES_EMPTY_QUERY:
            return PostgresResult(rows: [], affectedRows: Self.affectedRows(pointer))
        case PGRES_TUPLES_OK where !readingRows:
            return PostgresResult(rows: [], affectedRows: 0)
        case PGRES_TUPLES_OK:
            var rows: [[PostgresValue]] = []
            let columns = PQnfields(pointer)
            for row in 0..<PQntuples(pointer) {
                var values: [PostgresValue] = []
                for column in 0..<columns {
                    guard PQgetisnull(pointer, row, column) == 0 else {
                        values.append(.null)
                        continue
                    }
                    let bytes = UnsafeRawBufferPointer(start: PQgetvalue(pointer, row, column), count: Int(PQgetlength(pointer, row, column)))
                    values.append(try PostgresBinaryFormat.decode(bytes, as: UInt32(PQftype(pointer, column))))
                }
                rows.append(values)
            }
            return PostgresResult(rows: rows, affectedRows: Self.affectedRows(pointer))
        default:
            let state = PQresultErrorField(pointer, Int32(UInt8(ascii: "C"))).map { String(cString: $0) }
            let reason = PQresultErrorField(pointer, Int32(UInt8(ascii: "M"))).map { String(cString: $0) } ?? Self.message(PQerrorMessage(handle))
            // No SQLSTATE: libpq's own error (the connection broke). Class 08 is a connection
            // failure, 57P0x the server shutting down or starting up.
            guard isConnected, let state, !state.hasPrefix("08"), !state.hasPrefix("57P0") else {
                mustReconnect = true
                throw PostgresError.connectionFailed(reason: reason.split(separator: "\n").first.map(String.init) ?? reason)
            }
            throw PostgresError.statementFailed(operation: operation, sqlState: state, reason: reason)
        }
    }

    private func lost() -> PostgresError {
        mustReconnect = true
        return .connectionFailed(reason: Self.message(PQerrorMessage(handle)))
    }

    private static func affectedRows(_ pointer: OpaquePointer) -> Int {
        Int(String(cString: PQcmdTuples(pointer))) ?? 0
    }

    private static func message(_ text: UnsafePointer<CChar>?) -> String {
        let message = text.map { String(cString: $0) } ?? ""
        let trimmed = message.split(separator: "\n").first.map(String.init) ?? ""
        return trimmed.isEmpty ? "no reason given" : trimmed
    }
}

private extension Array where Element == String {
    /// The strings as a NULL-terminated array of C strings, valid while `body` runs.
    func withCStrings<Result>(_ body: ([UnsafePointer<CChar>?]) -> Result) -> Result {
        let copies = map { strdup($0) }
        defer { copies.forEach { free($0) } }
        return body(copies.map { UnsafePointer($0) } + [nil])
    }
}
