import Foundation
@testable import HavenStore
import Testing

/// Migration 14 drops the sender from stored direct messages: what was kept stays readable, and a
/// cursor is never handed out twice, even when the newest rows were purged before the upgrade.
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
            try database.connection.prepare("SELECT name FROM pragma_table_info('direct_messages')").query().map { $0[0] }
        }
        #expect(!columns.contains(.text("sender")), "no sender column is left")
        #expect(try store.performAndWait { try $0.directMessages(recipient: [2], after: 0, limit: 10) }.map(\.cursor) == [1, 2, 3],
                "what was kept is still there, at its cursor")
        let next = try store.performAndWait { try $0.appendDirectMessage(recipient: [2], messageID: [9], message: [1], now: 2) }
        #expect(next == .stored(cursor: 6), "a purged cursor is never handed out again")
        let again = try store.performAndWait { try $0.appendDirectMessage(recipient: [2], messageID: [9], message: [1], now: 2) }
        #expect(again == .duplicate(cursor: 6), "a resend is stored once per recipient and id")
    }
}
