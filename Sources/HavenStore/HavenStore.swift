import Foundation

/// The embedded SQLite store: one writer thread, one connection, batched transactions.
///
/// Work submitted with ``perform(_:completion:)`` queues up; the writer takes everything queued
/// (up to ``maxBatch``), runs it in one `BEGIN IMMEDIATE ... COMMIT`, and only then hands the
/// results to `deliver` (group commit: many messages, one fsync). If the commit fails, every
/// operation of the batch gets the error, so nothing is reported stored that is not.
public final class HavenStore: @unchecked Sendable {
    // @unchecked Sendable: `queue`, `closed`, and the metrics are guarded by `condition`; the
    // database is touched only by the writer thread.
    private let condition = NSCondition()
    private var queue: [Operation] = []
    private var closed = false
    private var writerFinished = false
    private let deliver: @Sendable (@escaping @Sendable () -> Void) -> Void
    private var database: StoreDatabase?
    private var metricsSnapshot = StoreMetrics()
    private let engine: StoreEngine
    /// Copies a SQLite store's WAL into its file off the writer thread (nil on PostgreSQL).
    private let checkpointer: WALCheckpointer?

    /// Most operations committed together.
    public let maxBatch: Int

    /// The schema version this build creates and understands.
    public static var schemaVersion: Int { Migrations.all.count }

    /// The schema version of the database at `path`, without opening it as a store (nothing is
    /// migrated); nil when there is no database there yet.
    ///
    /// - Throws: ``StoreError`` when the file cannot be read as a database.
    public static func schemaVersion(at path: String) throws -> Int? {
        guard FileManager.default.fileExists(atPath: path) else { return nil }
        guard case .integer(let version)? = try SQLiteConnection(path: path).prepare("PRAGMA user_version").query().first?.first else {
            throw StoreError.noRow(operation: "read schema version")
        }
        return Int(version)
    }

    /// Creates, at `path`, an empty database with this build's schema as of `version` (its first
    /// `version` migrations): what a database that version wrote must look like.
    ///
    /// - Throws: ``StoreError``.
    public static func createSchema(at path: String, version: Int) throws {
        let connection = try SQLiteConnection.openStore(path: path, settings: StoreSettings())
        try Migrations.apply(to: connection, upTo: version)
    }

    private struct Operation {
        /// Runs alone, outside a transaction (checkpoints and vacuum cannot run inside one).
        var exclusive = false
        /// The work as one statement, which a batch sends pipelined with its neighbours' (on
        /// PostgreSQL), and what records its result (false when the transaction cannot go on).
        var statement: (sql: String, values: [StoreValue], record: (Result<[[StoreValue]], StoreError>) -> Bool)?
        /// Runs the work and records its result; false if it threw.
        let run: (StoreDatabase) -> Bool
        let fail: (StoreError) -> Void
        let finish: () -> Void
    }

    /// Opens (creating and migrating if needed) the SQLite database at `path` and starts the writer.
    ///
    /// `deliver` receives one closure per committed batch that runs the batch's completions in
    /// order; a server passes its event loop's `execute` so completions run on the loop thread.
    ///
    /// - Throws: ``StoreError`` when the file cannot be opened or migrated.
    public convenience init(
        path: String, settings: StoreSettings = StoreSettings(), maxBatch: Int = 1024,
        deliver: @escaping @Sendable (@escaping @Sendable () -> Void) -> Void = { $0() }
    ) throws {
        // The size ceiling is for what members write: an upgrade may need room for a second copy
        // of a table while it rebuilds it, so migrations run before it is set.
        var beforeMigrations = settings
        beforeMigrations.maxDatabaseBytes = nil
        let connection = try SQLiteConnection.openStore(path: path, settings: beforeMigrations)
        try Migrations.apply(to: connection)
        if case .integer(0)? = try connection.prepare("PRAGMA auto_vacuum").query().first?.first {
            // A database made before auto_vacuum was set: convert it once, so purges can free pages.
            try connection.execute("PRAGMA auto_vacuum = INCREMENTAL; VACUUM")
        }
        try connection.limitSize(to: settings.maxDatabaseBytes)
        let checkpointer = try WALCheckpointer(path: path, settings: settings)
        checkpointer.watch(connection)
        self.init(
            database: StoreDatabase(connection: SQLiteStoreConnection(connection)), checkpointer: checkpointer,
            maxBatch: maxBatch, deliver: deliver)
    }

    /// Connects to the PostgreSQL database at `url` (creating and migrating Haven's tables if
    /// needed) and starts the writer. Several Haven nodes may share the database: their write
    /// transactions take turns (``StoreConnection/beginWriting()``).
    ///
    /// - Throws: ``StoreError/unavailable(reason:)`` when the server cannot be reached;
    ///   ``StoreError/conflict(_:)`` for a size ceiling (a SQLite setting: PostgreSQL has its own);
    ///   ``StoreError`` when migrating fails.
    public convenience init(
        postgres url: String, settings: StoreSettings = StoreSettings(), maxBatch: Int = 1024,
        deliver: @escaping @Sendable (@escaping @Sendable () -> Void) -> Void = { $0() }
    ) throws {
        guard settings.maxDatabaseBytes == nil else {
            throw StoreError.conflict("a database size ceiling applies to SQLite only: on PostgreSQL, limit the disk or use a quota")
        }
        // FULL waits for the commit's WAL flush (on the server, and its synchronous standbys);
        // NORMAL acknowledges before it, so a crash of the database server may lose the last commits.
        let connection = try PostgresStoreConnection(url: url, synchronousCommit: settings.synchronous == .full)
        try PostgresSchema.apply(to: connection)
        self.init(database: StoreDatabase(connection: connection), checkpointer: nil, maxBatch: maxBatch, deliver: deliver)
    }

    /// Opens the store at `location`.
    ///
    /// - Throws: ``StoreError``.
    public convenience init(
        _ location: StoreLocation, settings: StoreSettings = StoreSettings(), maxBatch: Int = 1024,
        deliver: @escaping @Sendable (@escaping @Sendable () -> Void) -> Void = { $0() }
    ) throws {
        switch location {
        case .sqlite(let path): try self.init(path: path, settings: settings, maxBatch: maxBatch, deliver: deliver)
        case .postgres(let url): try self.init(postgres: url, settings: settings, maxBatch: maxBatch, deliver: deliver)
        }
    }

    private init(
        database: StoreDatabase, checkpointer: WALCheckpointer?, maxBatch: Int,
        deliver: @escaping @Sendable (@escaping @Sendable () -> Void) -> Void
    ) {
        self.database = database
        self.checkpointer = checkpointer
        self.engine = database.engine
        self.deliver = deliver
        self.maxBatch = maxBatch
        let thread = Thread { [self] in
            try? "haven-store".write(toFile: "/proc/thread-self/comm", atomically: false, encoding: .utf8)
            writerLoop()
        }
        thread.start()
    }

    /// Queues `work` for the writer thread; `completion` receives its result after the commit.
    ///
    /// After ``close()``, `completion` receives ``StoreError/closed`` at once.
    public func perform<Value: Sendable>(
        _ work: @escaping @Sendable (StoreDatabase) throws -> Value,
        completion: @escaping @Sendable (Result<Value, StoreError>) -> Void
    ) {
        enqueue(work, exclusive: false, completion: completion)
    }

    /// Like ``perform(_:completion:)``, but `work` runs alone and outside any transaction, after
    /// everything queued before it has committed (for WAL checkpoints and vacuum).
    public func performOutsideTransaction<Value: Sendable>(
        _ work: @escaping @Sendable (StoreDatabase) throws -> Value,
        completion: @escaping @Sendable (Result<Value, StoreError>) -> Void
    ) {
        enqueue(work, exclusive: true, completion: completion)
    }

    /// Stores a room or private message (see ``StoreDatabase/append(_:now:)``);
    /// `completion` receives what it did after the commit. On PostgreSQL the message is one
    /// statement, sent pipelined with the batch's other messages: one round trip for all of them.
    public func append(
        _ message: MessageAppend, now: Int64,
        completion: @escaping @Sendable (Result<AppendedMessage?, StoreError>) -> Void
    ) {
        guard engine == .postgres else {
            perform({ try $0.append(message, now: now) }, completion: completion)
            return
        }
        let statement = StoreDatabase.postgresStatement(for: message, now: now)
        let box = OperationResult<AppendedMessage?>()
        // A failed statement aborts the transaction; a refusal read from a statement's row (an id
        // used in another room) wrote nothing, and the batch goes on.
        let record = { (rows: Result<[[StoreValue]], StoreError>) -> Bool in
            guard case .success(let rows) = rows else {
                box.result = rows.map { _ in nil }
                return false
            }
            box.result = Result { try StoreDatabase.appended(from: rows) }.mapError(Self.storeError)
            return true
        }
        enqueue(Operation(
            statement: (statement.sql, statement.values, record),
            run: { database in record(Result { try database.run(statement.sql, statement.values) }.mapError(Self.storeError)) },
            fail: { box.result = .failure($0) },
            finish: { completion(box.result ?? .failure(.closed)) }))
    }

    private func enqueue<Value: Sendable>(
        _ work: @escaping @Sendable (StoreDatabase) throws -> Value, exclusive: Bool,
        completion: @escaping @Sendable (Result<Value, StoreError>) -> Void
    ) {
        let box = OperationResult<Value>()
        enqueue(Operation(
            exclusive: exclusive,
            run: { database in
                box.result = Result { try work(database) }.mapError(Self.storeError)
                if case .failure = box.result { return false }
                return true
            },
            fail: { box.result = .failure($0) },
            finish: { completion(box.result ?? .failure(.closed)) }))
    }

    private static func storeError(_ error: any Error) -> StoreError {
        error as? StoreError ?? .sqlite(operation: "store operation", code: -1, reason: "\(error)")
    }

    private func enqueue(_ operation: Operation) {
        condition.lock()
        guard !closed else {
            condition.unlock()
            operation.fail(.closed)
            operation.finish()
            return
        }
        queue.append(operation)
        metricsSnapshot.queueDepth = queue.count
        condition.signal()
        condition.unlock()
    }

    /// Runs `work` on the writer thread and waits for its committed result (for the CLI and tests,
    /// never on an event loop).
    @discardableResult
    public func performAndWait<Value: Sendable>(
        outsideTransaction: Bool = false, _ work: @escaping @Sendable (StoreDatabase) throws -> Value
    ) throws -> Value {
        let done = DispatchSemaphore(value: 0)
        let box = OperationResult<Value>()
        enqueue(work, exclusive: outsideTransaction) { result in
            box.result = result
            done.signal()
        }
        done.wait()
        return try box.result!.get()
    }

    /// A snapshot of the store's counters.
    public var metrics: StoreMetrics {
        condition.lock()
        defer { condition.unlock() }
        return metricsSnapshot
    }

    /// Commits everything queued, then closes the database. Further work fails with ``StoreError/closed``.
    public func close() {
        condition.lock()
        closed = true
        condition.broadcast()
        while !writerFinished { condition.wait() }
        condition.unlock()
    }

    private func writerLoop() {
        while true {
            condition.lock()
            while queue.isEmpty && !closed { condition.wait() }
            if queue.isEmpty && closed {
                checkpointer?.stop()
                database = nil
                writerFinished = true
                condition.broadcast()
                condition.unlock()
                return
            }
            // A batch ends before the next exclusive operation; an exclusive one runs alone.
            let batch = queue[0].exclusive ? [queue[0]] : Array(queue.prefix(maxBatch).prefix { !$0.exclusive })
            queue.removeFirst(batch.count)
            metricsSnapshot.queueDepth = queue.count
            condition.unlock()
            runBatch(batch)
        }
    }

    private func runBatch(_ batch: [Operation]) {
        guard let database else { return }
        let started = DispatchTime.now().uptimeNanoseconds
        if batch.count == 1, batch[0].exclusive {
            // A checkpoint of its own (or a vacuum) needs the checkpointer's lock: none is taken meanwhile.
            if let checkpointer {
                _ = checkpointer.holdingOff { batch[0].run(database) }
            } else {
                _ = batch[0].run(database)
            }
            deliver(UncheckedSendableWork(batch[0].finish).run)
            return
        }
        // One transaction for the batch. An operation that fails may have written part of its
        // work: the transaction is rolled back and run again without it (its failure is what it
        // reports), so it leaves nothing behind and the others still commit, in one more
        // transaction per failed operation. When the database cannot be reached, or the commit
        // itself fails, every operation still pending fails at once.
        var pending = batch
        while !pending.isEmpty, case .failed(let index) = runInTransaction(pending, database: database) {
            pending.remove(at: index)
        }
        let elapsed = DispatchTime.now().uptimeNanoseconds - started
        condition.lock()
        metricsSnapshot.record(commitNanoseconds: elapsed, operations: batch.count)
        condition.unlock()
        let finishers = batch.map(\.finish)
        deliver(UncheckedSendableWork { finishers.forEach { $0() } }.run)
    }

    private enum TransactionOutcome {
        case committed
        /// Rolled back because the operation at this index failed (its failure recorded).
        case failed(at: Int)
        /// Rolled back, every operation told why (the database unreachable, the commit refused).
        case abandoned
    }

    /// Runs `operations` in order until one fails, and returns its index (nil when none did);
    /// neighbours that are single statements go together in one pipeline.
    ///
    /// - Throws: ``StoreError`` when the connection fails under a pipeline.
    private func firstFailure(running operations: [Operation], database: StoreDatabase) throws -> Int? {
        var index = operations.startIndex
        while index < operations.endIndex {
            guard operations[index].statement != nil else {
                guard operations[index].run(database) else { return index }
                index += 1
                continue
            }
            let statements = operations[index...].prefix { $0.statement != nil }.compactMap(\.statement)
            // Statements are made for PostgreSQL only (``append(_:now:completion:)``).
            let results = try (database.connection as! PostgresStoreConnection).runPipelined(statements.map { ($0.sql, $0.values) })
            for (offset, (statement, result)) in zip(statements, results).enumerated() {
                guard statement.record(result) else { return index + offset }
            }
            index += statements.count
        }
        return nil
    }

    /// Runs `operations` in one transaction: committed if every one succeeded, else rolled back.
    private func runInTransaction(_ operations: [Operation], database: StoreDatabase) -> TransactionOutcome {
        do {
            try database.connection.beginWriting()
            // Stop at the first failure: everything is rolled back anyway.
            if let failed = try firstFailure(running: operations, database: database) {
                try database.connection.execute("ROLLBACK")
                return .failed(at: failed)
            }
            try database.connection.commit()
            return .committed
        } catch {
            try? database.connection.execute("ROLLBACK")
            let failure = error as? StoreError ?? .sqlite(operation: "commit", code: -1, reason: "\(error)")
            operations.forEach { $0.fail(failure) }
            return .abandoned
        }
    }
}

/// Carries one operation's result from the writer thread to its completion.
private final class OperationResult<Value>: @unchecked Sendable {
    // @unchecked Sendable: written on the writer thread before the batch is delivered, read by
    // the completion after delivery; the delivery hand-off orders the two.
    var result: Result<Value, StoreError>?
}

/// Wraps the batch's completions for delivery to another thread.
private struct UncheckedSendableWork: @unchecked Sendable {
    // @unchecked Sendable: the closures are @Sendable completions gathered into one array;
    // the array itself is handed over once and not touched by the writer afterwards.
    let work: () -> Void
    init(_ work: @escaping () -> Void) { self.work = work }
    var run: @Sendable () -> Void { { work() } }
}

/// Counters the server exports on /metrics.
public struct StoreMetrics: Sendable, Equatable {
    /// Operations waiting for the writer.
    public var queueDepth = 0
    /// Transactions committed (or failed).
    public var commits = 0
    /// Operations run.
    public var operations = 0
    /// Sum of commit durations, in seconds.
    public var commitSecondsTotal = 0.0
    /// The longest commit seen, in seconds.
    public var commitSecondsMax = 0.0

    mutating func record(commitNanoseconds: UInt64, operations count: Int) {
        let seconds = Double(commitNanoseconds) / 1e9
        commits += 1
        operations += count
        commitSecondsTotal += seconds
        commitSecondsMax = max(commitSecondsMax, seconds)
    }
}
