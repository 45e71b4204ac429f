import Foundation
import HavenNet
import HavenStore
import HavenTestSupport
import Testing

/// The WAL is copied into the database file by a thread of its own (`haven-wal`), never
/// in a commit; under a steady stream of writes it still starts again from its beginning, and a
/// checkpoint asked for (after a purge) waits for the thread instead of failing.
@Suite struct WALCheckpointerTests {
    let directory: TemporaryDirectory
    var path: String { directory.path + "/haven.sqlite" }

    init() throws { directory = try TemporaryDirectory() }

    static func fileSize(_ path: String) -> Int {
        ((try? FileManager.default.attributesOfItem(atPath: path))?[.size] as? Int) ?? 0
    }

    /// Queues `batches` transactions of 40 private messages of 4 KB without waiting, so that the
    /// writer is never idle; `afterEach` runs on the writer thread after each commit.
    static func write(_ store: HavenStore, batches: Int, afterEach: @escaping @Sendable () -> Void = {}) {
        let group = DispatchGroup()
        let message = [UInt8](repeating: 0x6d, count: 4_000)
        for batch in 0..<batches {
            group.enter()
            store.perform({ database in
                for index in 0..<40 {
                    _ = try database.appendDirectMessage(
                        recipient: [UInt8(index)], messageID: Array("\(batch)-\(index)".utf8), message: message, now: 1)
                }
            }) { result in
                #expect(throws: Never.self) { try result.get() }
                afterEach()
                group.leave()
            }
        }
        group.wait()
    }

    /// CPU time the threads named `name` have used in this process, in clock ticks.
    func cpuTicks(ofThreadsNamed name: String) -> Int {
        let tasks = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/task")) ?? []
        return tasks.reduce(0) { total, task in
            guard let stat = try? String(contentsOfFile: "/proc/self/task/\(task)/stat", encoding: .utf8),
                  stat.contains("(\(name))"), let close = stat.lastIndex(of: ")") else { return total }
            let fields = stat[stat.index(close, offsetBy: 2)...].split(separator: " ")
            return total + (Int(fields[11]) ?? 0) + (Int(fields[12]) ?? 0)
        }
    }

    @Test func theWALIsCopiedByItsOwnThreadAndStaysBoundedUnderASteadyStream() throws {
        let store = try HavenStore(path: path, maxBatch: 1)
        let walPath = path + "-wal"
        let largestWAL = Locked(0)
        // 600 transactions of about 45 pages each: 27,000 pages, over three times the WAL's bound.
        Self.write(store, batches: 600) { largestWAL.withLock { $0 = max($0, Self.fileSize(walPath)) } }
        #expect(Self.fileSize(path) > 60_000_000, "the messages were copied into the database file")
        #expect(cpuTicks(ofThreadsNamed: "haven-wal") > 0, "the checkpoint thread did the copying")
        // The writer copies what is left at 8,192 pages: a transaction or two may come on top
        // (one is about 120 pages here). Unbounded, it would grow to some 27,000 pages.
        let bound = (8_192 + 500) * (4_096 + 24)
        let largest = largestWAL.withLock { $0 }
        #expect(largest <= bound, "the WAL grew to \(largest) bytes, past \(bound)")
        store.close()
        #expect(!FileManager.default.fileExists(atPath: walPath), "the last connection to close removed the WAL")
        let reopened = try HavenStore(path: path)
        defer { reopened.close() }
        let stored = try reopened.performAndWait { database in
            try (0..<40).reduce(0) { $0 + (try database.directMessages(recipient: [UInt8($1)], after: 0, limit: 1_000).count) }
        }
        #expect(stored == 600 * 40)
    }

    @Test func aTruncatingCheckpointWaitsForTheThreadInsteadOfFailing() throws {
        let store = try HavenStore(path: path, maxBatch: 1)
        defer { store.close() }
        let writing = DispatchGroup()
        writing.enter()
        Thread {
            Self.write(store, batches: 400)
            writing.leave()
        }.start()
        // Each truncation needs the checkpoint lock the thread takes while it copies.
        for _ in 0..<30 {
            try store.performAndWait(outsideTransaction: true) { try $0.reclaimSpace() }
        }
        writing.wait()
        try store.performAndWait(outsideTransaction: true) { try $0.reclaimSpace() }
        #expect(Self.fileSize(path + "-wal") == 0, "the last truncation left the WAL empty")
    }

    /// Counts the private messages another process sees in the database, opening and closing it
    /// as `haven rooms list` or an operator's `sqlite3` beside the server would.
    func countFromAnotherProcess() throws -> Int {
        let script = "import sqlite3, sys; c = sqlite3.connect(sys.argv[1]); print(c.execute('SELECT count(*) FROM direct_messages').fetchone()[0]); c.close()"
        let run = try ChildProcess.runToEnd(["/usr/bin/env", "python3", "-c", script, path])
        #expect(run.status == 0, "python3 failed: \(run.errors)")
        return Int(run.output.trimmingCharacters(in: .whitespacesAndNewlines)) ?? -1
    }

    /// The store's two connections (the writer's and the checkpoint thread's) keep SQLite's locks
    /// on the file: another process that opens and closes it does not take itself for the last
    /// one, so it leaves the WAL the writer commits to in place.
    @Test func anotherProcessClosingTheDatabaseLeavesTheWriterItsWAL() throws {
        let store = try HavenStore(path: path)
        defer { store.close() }
        let message = [UInt8](repeating: 0x6d, count: 100)
        func append(_ range: Range<Int>) throws {
            try store.performAndWait { database in
                for index in range {
                    _ = try database.appendDirectMessage(recipient: [1], messageID: Array("\(index)".utf8), message: message, now: 1)
                }
            }
        }
        try append(0..<20)
        #expect(try countFromAnotherProcess() == 20)
        #expect(FileManager.default.fileExists(atPath: path + "-wal"), "the other process deleted the WAL on closing")
        try append(20..<40)
        #expect(try countFromAnotherProcess() == 40, "what the writer committed after the other process closed is not in the file it reads")
    }
}
