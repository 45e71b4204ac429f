import Foundation
@testable import HavenStore
import Testing

/// Migration 14 drops the sender from stored direct messages and gives them cursors that count
/// per recipient: what was kept stays readable where it was, and a cursor is never handed out
/// twice, even when the newest rows were purged before the upgrade.
@Suite struct SealedSenderMigrationTests {
    let directory: TemporaryDirectory
    var path: String { directory.path + "/haven.sqlite" }

    init() throws { directory = try TemporaryDirectory() }

    @Test func directMessagesLoseTheirSenderButKeepTheirCursors() throws {
        try HavenStore.createSchema(at: path, version: 13)
        do {
            let old = try SQLiteConnection(path: path)
            for cursor in 1...5 {
                try old.execute("""
                    INSERT INTO direct_messages (sender, recipient, message_id, message, created_at)
                    VALUES (x'01', x'02', x'0\(cursor)', x'AA', 1)
                    """)
            }
            try old.execute("DELETE FROM direct_messages WHERE cursor >= 4")
        }
        let store = try HavenStore(path: path)
        defer { store.close() }
        let columns = try store.performAndWait { database in
            try database.run("SELECT name FROM pragma_table_info('direct_messages')").map { $0[0] }
        }
        #expect(!columns.contains(.text("sender")), "no sender column is left")
        #expect(try store.performAndWait { try $0.directMessages(recipient: [2], after: 0, limit: 10) }.map(\.cursor) == [1, 2, 3],
                "what was kept is still there, at its cursor")
        let now: Int64 = 1_764_190_000
        let next = try store.performAndWait { try $0.appendDirectMessage(recipient: [2], messageID: [9], message: [1], now: now) }
        #expect(next == .stored(cursor: (StoredTime.coarse(now) / 3600) << 20), "a new cursor starts above every old one, purged or not")
        let again = try store.performAndWait { try $0.appendDirectMessage(recipient: [2], messageID: [9], message: [1], now: now) }
        #expect(again == next.duplicate, "a resend is stored once per recipient and id")
    }

    @Test func cursorsCountPerRecipientAndSayNothingOfTheOrderAcrossThem() throws {
        let store = try HavenStore(path: path)
        defer { store.close() }
        let now: Int64 = 1_764_190_000
        let floor = (StoredTime.coarse(now) / 3600) << 20
        let cursors = try store.performAndWait { database in
            try [[2], [3], [2], [3], [3]].enumerated().map { index, recipient in
                try database.appendDirectMessage(recipient: recipient, messageID: [UInt8(index)], message: [1], now: now)
            }
        }
        #expect(cursors == [.stored(cursor: floor), .stored(cursor: floor), .stored(cursor: floor + 1),
                            .stored(cursor: floor + 1), .stored(cursor: floor + 2)])
        // An hour later each recipient's history goes on above the new hour's start.
        let later = try store.performAndWait { try $0.appendDirectMessage(recipient: [2], messageID: [9], message: [1], now: now + 3600) }
        #expect(later == .stored(cursor: floor + (1 << 20)))
    }

    /// Migration 16 rebuilds the private-message table, which needs room for a second copy: an
    /// operator's size ceiling close above the database does not stop the upgrade, and still
    /// holds for what is written after it.
    @Test func anUpgradeIsNotStoppedByTheSizeCeilingWhichStillHoldsAfterIt() throws {
        try HavenStore.createSchema(at: path, version: 15)
        do {
            let old = try SQLiteConnection(path: path)
            let message = String(repeating: "AB", count: 1_600)
            for index in 0..<600 {
                try old.execute("""
                    INSERT INTO direct_messages (recipient, cursor, message_id, message, created_at)
                    VALUES (x'02', \(index + 1), x'\(String(format: "%08x", index))', x'\(message)', 0)
                    """)
            }
        }
        let size = try #require(FileManager.default.attributesOfItem(atPath: path)[.size] as? Int)
        let ceiling = size + 256 * 1024
        let store = try HavenStore(path: path, settings: StoreSettings(maxDatabaseBytes: ceiling))
        defer { store.close() }
        #expect(try store.performAndWait { try $0.directMessages(recipient: [2], after: 0, limit: 1_000) }.count == 600)
        let big = [UInt8](repeating: 7, count: 1_600)
        let stored = try store.performAndWait { database -> Int in
            for index in 0..<10_000 {
                do {
                    _ = try database.appendDirectMessage(recipient: [3], messageID: [UInt8(index % 256), UInt8(index / 256)], message: big, now: 1)
                } catch {
                    return index
                }
            }
            return 10_000
        }
        #expect(stored > 0 && stored < 10_000, "the ceiling holds after the upgrade: \(stored) written, \(ceiling - size) bytes above the old file")
    }
}

private extension AppendOutcome {
    /// The same cursor, as a duplicate.
    var duplicate: AppendOutcome {
        switch self {
        case .stored(let cursor), .duplicate(let cursor): .duplicate(cursor: cursor)
        }
    }
}
