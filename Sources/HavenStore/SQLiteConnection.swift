import CSQLite
import Glibc

/// One SQLite connection: the only place in Haven that calls the SQLite C API.
///
/// A connection belongs to one thread at a time (SQLite is built serialized on Debian, but
/// Haven's design gives each connection a single owner, the store's writer thread).
public final class SQLiteConnection {
    let handle: OpaquePointer
    /// The file this connection opened.
    public let path: String
    /// What ``observeCommits(_:)`` installed; SQLite holds a pointer to it.
    private var commitObserver: CommitObserver?

    /// The SQLite library version, e.g. "3.40.1".
    public static var libraryVersion: String { String(cString: sqlite3_libversion()) }

    /// Opens (creating if needed) the database file at `path`.
    ///
    /// - Throws: ``StoreError/openFailed(path:reason:)``.
    public init(path: String) throws {
        // The database holds who wrote privately to whom and what was reported: its owner only
        // may read it (SQLite gives its journal files the same mode).
        if path != ":memory:" && !path.hasPrefix("file:") { Self.restrictToOwner(path) }
        var handle: OpaquePointer?
        // URIs ("file:<path>?vfs=...") are how tests choose a VFS.
        let flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_URI
        let status = sqlite3_open_v2(path, &handle, flags, nil)
        guard status == SQLITE_OK, let handle else {
            let reason = handle.map { String(cString: sqlite3_errmsg($0)) } ?? String(cString: sqlite3_errstr(status))
            sqlite3_close_v2(handle)
            throw StoreError.openFailed(path: path, reason: reason)
        }
        self.handle = handle
        self.path = path
        sqlite3_extended_result_codes(handle, 1)
    }

    deinit {
        sqlite3_close_v2(handle)
    }

    /// For a file someone else may have written (a backup being restored): SQLite's defensive
    /// mode (no writing to its own schema or pages behind its back) and no functions with side
    /// effects run from the file's schema (its views and triggers).
    ///
    /// - Throws: ``StoreError/sqlite(operation:code:reason:)``.
    public func distrustFile() throws {
        try check(haven_sqlite_defensive(handle), "distrust file")
        try execute("PRAGMA trusted_schema = OFF")
    }

    /// Creates `path` readable and writable by its owner only, or narrows an existing file to
    /// that; a symbolic link is left alone (and SQLite then refuses it).
    ///
    /// An existing file is never opened here: closing a descriptor drops every POSIX lock this
    /// process holds on the file, SQLite's own among them, and another connection of this process
    /// (the WAL's checkpoint thread beside the writer) may hold them. Without its locks, another
    /// process closing the database takes itself for the last and deletes the WAL the writer
    /// still commits to.
    private static func restrictToOwner(_ path: String) {
        var status = stat()
        if lstat(path, &status) == 0 {
            if status.st_mode & S_IFMT == S_IFREG, status.st_mode & 0o077 != 0 { chmod(path, 0o600) }
            return
        }
        let descriptor = open(path, O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0o600)
        if descriptor >= 0 {
            fchmod(descriptor, 0o600)
            close(descriptor)
        }
    }

    /// Runs one or more statements that take no parameters and return no rows of interest
    /// (schema, pragmas, `BEGIN`/`COMMIT`).
    ///
    /// - Throws: ``StoreError/sqlite(operation:code:reason:)``.
    public func execute(_ sql: String) throws {
        let status = sqlite3_exec(handle, sql, nil, nil, nil)
        try check(status, "execute")
    }

    /// Compiles `sql` into a prepared statement.
    public func prepare(_ sql: String) throws -> SQLiteStatement {
        var statement: OpaquePointer?
        let status = sqlite3_prepare_v3(handle, sql, -1, UInt32(SQLITE_PREPARE_PERSISTENT), &statement, nil)
        try check(status, "prepare")
        guard let statement else { throw StoreError.sqlite(operation: "prepare", code: status, reason: "empty statement") }
        return SQLiteStatement(statement: statement, connection: self)
    }

    /// Copies the whole database, as one consistent snapshot, into a new database file at
    /// `destination` (SQLite's online backup API: the server may go on writing meanwhile).
    ///
    /// - Throws: ``StoreError/openFailed(path:reason:)`` or ``StoreError/sqlite(operation:code:reason:)``.
    public func copy(to destination: String) throws {
        let target = try SQLiteConnection(path: destination)
        guard let backup = sqlite3_backup_init(target.handle, "main", handle, "main") else {
            throw StoreError.sqlite(operation: "start a copy", code: sqlite3_errcode(target.handle), reason: String(cString: sqlite3_errmsg(target.handle)))
        }
        // One step copies every page under one read transaction: a consistent snapshot.
        let stepped = sqlite3_backup_step(backup, -1)
        let finished = sqlite3_backup_finish(backup)
        guard stepped == SQLITE_DONE else {
            throw StoreError.sqlite(operation: "copy the database", code: stepped, reason: String(cString: sqlite3_errstr(stepped)))
        }
        try target.check(finished, "finish the copy")
    }

    /// Calls `observer` after each commit on this connection with the number of pages the WAL
    /// then holds, in place of SQLite's own checkpoint (which runs in the commit that takes the
    /// WAL past 1,000 pages): the observer decides when to checkpoint.
    func observeCommits(_ observer: @escaping (_ walPages: Int) -> Void) {
        let box = CommitObserver(observer)
        commitObserver = box
        let hook: @convention(c) (UnsafeMutableRawPointer?, OpaquePointer?, UnsafePointer<CChar>?, Int32) -> Int32 = { context, _, _, pages in
            guard let context else { return SQLITE_OK }
            Unmanaged<CommitObserver>.fromOpaque(context).takeUnretainedValue().observer(Int(pages))
            return SQLITE_OK
        }
        sqlite3_wal_hook(handle, hook, Unmanaged.passUnretained(box).toOpaque())
    }

    /// Copies into the database file the WAL's pages that no reader still needs from it, without
    /// waiting for readers or the writer (SQLite's passive checkpoint).
    ///
    /// - Returns: true when every page the WAL held was copied (the next write transaction then
    ///   starts the WAL from its beginning); false when some were held back, or another
    ///   connection was checkpointing.
    /// - Throws: ``StoreError/sqlite(operation:code:reason:)``.
    @discardableResult
    func checkpoint() throws -> Bool {
        var walFrames: Int32 = 0
        var copied: Int32 = 0
        let status = sqlite3_wal_checkpoint_v2(handle, nil, SQLITE_CHECKPOINT_PASSIVE, &walFrames, &copied)
        if status == SQLITE_BUSY { return false }
        try check(status, "checkpoint")
        return copied == walFrames
    }

    /// Rows changed by the most recent INSERT, UPDATE or DELETE.
    public var changes: Int { Int(sqlite3_changes(handle)) }

    /// The rowid of the most recent successful INSERT.
    public var lastInsertRowID: Int64 { sqlite3_last_insert_rowid(handle) }

    func check(_ status: Int32, _ operation: String) throws {
        guard status == SQLITE_OK || status == SQLITE_ROW || status == SQLITE_DONE else {
            throw StoreError.sqlite(operation: operation, code: status, reason: String(cString: sqlite3_errmsg(handle)))
        }
    }
}

/// A commit observer, kept alive by its connection while SQLite points at it.
private final class CommitObserver {
    let observer: (Int) -> Void
    init(_ observer: @escaping (Int) -> Void) { self.observer = observer }
}
