import Foundation

/// Copies a SQLite store's WAL into its database file on a thread of its own
/// (`haven-wal`), so that no commit waits for the copy. SQLite's own checkpoint runs
/// inside the commit that takes the WAL past 1,000 pages, on the writer thread: every message of
/// that batch, and every one queued behind it, waited for it.
///
/// The writer tells the checkpointer, after each commit, how many pages the WAL holds. From
/// ``startPages`` the thread is asked to copy what no reader holds back, and does so while the
/// writer goes on with its next transactions. The WAL starts again from its beginning only when
/// a write transaction begins with every page copied, which under a steady load may never
/// happen while the thread runs behind the writer; so from ``catchUpPages`` the writer waits for
/// the thread's round and copies the little left itself, and the WAL starts again.
final class WALCheckpointer: @unchecked Sendable {
    // @unchecked Sendable: the flags are guarded by `condition`; `connection` is used by the
    // checkpoint thread alone, and let go by ``stop()`` once that thread has ended.

    /// WAL pages (of 4 KiB) from which the thread copies them (SQLite's own threshold).
    static let startPages = 1_000
    /// WAL pages from which the writer copies what is left itself, so the WAL starts again.
    static let catchUpPages = 8_192

    private var connection: SQLiteConnection?
    private let condition = NSCondition()
    private var requested = false
    private var copying = false
    private var heldOff = 0
    private var stopping = false
    private var stopped = false

    /// Opens a second connection to the database at `path` (made and migrated already) and
    /// starts the thread; ``watch(_:)`` then attaches it to the writer's connection.
    ///
    /// - Throws: ``StoreError`` when the file cannot be opened.
    init(path: String, settings: StoreSettings) throws {
        let connection = try SQLiteConnection(path: path)
        self.connection = connection
        // The copy syncs the database file as the writer's commits sync the WAL.
        try connection.execute("PRAGMA busy_timeout = 5000; PRAGMA synchronous = \(settings.synchronous.rawValue)")
        Thread { [self] in
            try? "haven-wal".write(toFile: "/proc/thread-self/comm", atomically: false, encoding: .utf8)
            run()
        }.start()
    }

    /// Takes over checkpointing from `writer`'s commits (SQLite's own then no longer runs).
    func watch(_ writer: SQLiteConnection) {
        writer.observeCommits { [unowned writer, self] walPages in
            if walPages >= Self.catchUpPages {
                holdingOff { _ = try? writer.checkpoint() }
            } else if walPages >= Self.startPages {
                condition.lock()
                requested = true
                condition.signal()
                condition.unlock()
            }
        }
    }

    /// Runs `work` once no copy is under way, and starts none until it returns: for what needs
    /// the checkpoint lock itself (a truncating checkpoint, a vacuum).
    func holdingOff<Value>(_ work: () throws -> Value) rethrows -> Value {
        condition.lock()
        heldOff += 1
        while copying { condition.wait() }
        condition.unlock()
        defer {
            condition.lock()
            heldOff -= 1
            condition.broadcast()
            condition.unlock()
        }
        return try work()
    }

    /// Ends the thread after any copy under way, and closes its connection: call it before the
    /// writer's connection closes, so that the writer's close, the last, checkpoints what is left
    /// and removes the WAL.
    func stop() {
        condition.lock()
        stopping = true
        condition.broadcast()
        while !stopped { condition.wait() }
        connection = nil
        condition.unlock()
    }

    private func run() {
        condition.lock()
        while true {
            while !stopping && (!requested || heldOff > 0) { condition.wait() }
            if stopping { break }
            requested = false
            copying = true
            condition.unlock()
            // A failed copy (the disk full, say) leaves the pages in the WAL, where readers still
            // find them; the next commit asks again.
            _ = try? connection?.checkpoint()
            condition.lock()
            copying = false
            condition.broadcast()
        }
        stopped = true
        condition.broadcast()
        condition.unlock()
    }
}
