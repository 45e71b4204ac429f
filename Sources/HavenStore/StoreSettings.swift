/// How durably and how securely a store writes.
public struct StoreSettings: Sendable, Equatable {
    /// SQLite's `synchronous` levels that Haven allows.
    public enum Synchronous: String, Sendable, CaseIterable {
        /// fsync at every commit, including the WAL: nothing acknowledged is lost on power failure.
        case full = "FULL"
        /// fsync at checkpoints only: a power failure may lose the last commits (not a crash of the process).
        case normal = "NORMAL"
    }

    /// Durability of each commit; FULL by default.
    public var synchronous: Synchronous = .full
    /// A ceiling on the database file's size, in bytes (nil: none). Writes past it fail as a full
    /// disk would, and are reported as not stored.
    public var maxDatabaseBytes: Int?

    /// Default settings: WAL, secure_delete, FULL synchronous, no size ceiling.
    public init(synchronous: Synchronous = .full, maxDatabaseBytes: Int? = nil) {
        self.synchronous = synchronous
        self.maxDatabaseBytes = maxDatabaseBytes
    }
}

extension SQLiteConnection {
    /// Opens a database configured the way every Haven store is: WAL journal, `secure_delete`
    /// on (deleted content is overwritten with zeros), foreign keys enforced, a busy timeout, a
    /// 64 MiB page cache.
    public static func openStore(path: String, settings: StoreSettings = StoreSettings()) throws -> SQLiteConnection {
        let connection = try SQLiteConnection(path: path)
        // auto_vacuum must be chosen before the first table exists: INCREMENTAL lets retention
        // give freed pages back to the file system (see StoreDatabase+Retention).
        // The busy timeout comes first: another process (the CLI beside a running server) may
        // hold the write lock while the other settings are applied.
        try connection.execute("""
            PRAGMA busy_timeout = 5000;
            PRAGMA auto_vacuum = INCREMENTAL;
            PRAGMA journal_mode = WAL;
            PRAGMA secure_delete = ON;
            PRAGMA foreign_keys = ON;
            PRAGMA synchronous = \(settings.synchronous.rawValue);
            PRAGMA cache_size = -65536;
            """)
        // The page cache above is 64 MiB (SQLite's default is 2 MiB): the private-message indexes
        // take an entry for each message at its recipient's place, and with a small cache each
        // insert read its index pages back through the kernel (docs/performance.md, issue 15).
        try connection.limitSize(to: settings.maxDatabaseBytes)
        return connection
    }

    /// Sets the ceiling on the database file's size (nil: none), past which writes fail as a
    /// full disk would.
    ///
    /// - Throws: ``StoreError/sqlite(operation:code:reason:)``.
    func limitSize(to maxDatabaseBytes: Int?) throws {
        guard let maxDatabaseBytes else { return }
        // page_size is 4096 unless changed; the ceiling is counted in pages.
        try execute("PRAGMA max_page_count = \(max(1, maxDatabaseBytes / 4096))")
    }
}
