import Foundation
import HavenNet
import HavenStore
import HavenTestSupport
import Postgres
import Testing

/// The libpq wrapper against a real PostgreSQL server, and the store through a restart of it.
@Suite struct PostgresTests {
    func freshConnection() throws -> PostgresConnection {
        guard case .postgres(let url) = try freshStoreLocation(.postgres, folder: "") else { throw StoreError.closed }
        return try PostgresConnection(url: url)
    }

    @Test func valuesOfEveryTypeHavenUsesComeBackAsTheyWent() throws {
        let connection = try freshConnection()
        try connection.execute("CREATE TABLE t (i2 smallint, i4 integer, i8 bigint, f double precision, s text, b bytea, flag boolean)")
        let row: [PostgresValue] = [.integer(-7), .integer(70_000), .integer(Int64.min), .real(2.5), .text("Grüße 💬"), .bytes([0, 1, 255]), .boolean(true)]
        try connection.query("INSERT INTO t VALUES ($1, $2, $3, $4, $5, $6, $7)", row)
        try connection.query("INSERT INTO t VALUES ($1, $2, $3, $4, $5, $6, $7)", Array(repeating: .null, count: 7))
        try connection.query("INSERT INTO t (b, s) VALUES ($1, $2)", [.bytes([]), .text("")])
        let rows = try connection.query("SELECT * FROM t ORDER BY i8 NULLS LAST, s NULLS LAST").rows
        #expect(rows == [row, [.null, .null, .null, .null, .text(""), .bytes([]), .null], Array(repeating: .null, count: 7)])
    }

    @Test func aStatementThatBreaksARuleFailsWithItsCodeAndTheConnectionGoesOn() throws {
        let connection = try freshConnection()
        try connection.execute("CREATE TABLE t (id bigint PRIMARY KEY)")
        try connection.query("INSERT INTO t VALUES ($1)", [.integer(1)])
        #expect(throws: PostgresError.statementFailed(
            operation: "query", sqlState: PostgresError.uniqueViolation, reason: "duplicate key value violates unique constraint \"t_pkey\"")) {
            try connection.query("INSERT INTO t VALUES ($1)", [.integer(1)])
        }
        #expect(throws: PostgresError.self) { try connection.query("SELEC nonsense") }
        #expect(throws: PostgresError.self, "a value too large for its column's type") {
            try connection.query("SELECT $1::smallint", [.integer(100_000)])
        }
        #expect(try connection.query("SELECT count(*) FROM t").rows == [[.integer(1)]])
    }

    @Test func aPipelineAnswersEachStatementAndStopsAtTheFirstThatFails() throws {
        let connection = try freshConnection()
        try connection.execute("CREATE TABLE t (id bigint PRIMARY KEY)")
        let insert = "INSERT INTO t VALUES ($1) RETURNING id"
        let results = try connection.pipeline([(insert, [.integer(1)]), (insert, [.integer(2)]), (insert, [.integer(1)]), (insert, [.integer(3)])])
        #expect(results.count == 4)
        #expect(try results[0].get().rows == [[.integer(1)]] && results[1].get().rows == [[.integer(2)]])
        #expect(throws: PostgresError.statementFailed(
            operation: "query", sqlState: PostgresError.uniqueViolation, reason: "duplicate key value violates unique constraint \"t_pkey\"")) {
            try results[2].get()
        }
        #expect {
            try results[3].get()
        } throws: { error in
            guard case .statementFailed(_, let state, _) = error as? PostgresError else { return false }
            return state == "25P02"
        }
        #expect(try connection.query("SELECT count(*) FROM t").rows == [[.integer(0)]], "a pipeline is one transaction: a failure takes back the statements before it")
        #expect(try connection.pipeline([]).isEmpty)
        #expect(throws: PostgresError.self, "a statement that cannot be prepared") { try connection.pipeline([("SELEC nonsense", [])]) }
        #expect(try connection.pipeline([("SELECT $1::bigint + 1", [.integer(41)])]).map { try $0.get().rows } == [[[.integer(42)]]])
    }

    @Test func aPipelineCutByAServerRestartFailsAndTheConnectionWorksAfterReconnecting() throws {
        let server = try TestPostgres()
        guard case .postgres(let url) = try server.freshDatabase() else { throw StoreError.closed }
        let connection = try PostgresConnection(url: url)
        #expect(try connection.pipeline([("SELECT 1", [])]).count == 1)
        try server.stop()
        #expect {
            try connection.pipeline([("SELECT 1", []), ("SELECT 2", [])])
        } throws: { error in
            guard case .connectionFailed = error as? PostgresError else { return false }
            return true
        }
        #expect(!connection.isConnected)
        try server.start()
        try connection.reconnect()
        #expect(try connection.pipeline([("SELECT 1", []), ("SELECT 2", [])]).map { try $0.get().rows } == [[[.integer(1)]], [[.integer(2)]]])
        #expect(try connection.query("SELECT 3").rows == [[.integer(3)]], "no longer in pipeline mode")
    }

    @Test func aServerThatIsNotThereIsAClearErrorNotACrash() {
        #expect {
            try PostgresConnection(url: "postgres:///nowhere?host=/nonexistent-folder&connect_timeout=2")
        } throws: { error in
            guard case .connectionFailed(let reason) = error as? PostgresError else { return false }
            return !reason.isEmpty
        }
    }

    @Test func aStoreRefusesWritesWhileItsServerIsDownAndLosesNothingAcknowledged() throws {
        let server = try TestPostgres()
        let store = try HavenStore(try server.freshDatabase())
        defer { store.close() }
        try store.performAndWait { try $0.createRoom(id: "lobby", name: "Lobby", kind: "support", now: 1) }
        let before = try store.performAndWait {
            try $0.appendRoomMessage(room: "lobby", sender: [1], messageID: [1], epoch: 0, envelope: [1], now: 1)
        }
        try server.stop()
        #expect {
            try store.performAndWait { try $0.appendRoomMessage(room: "lobby", sender: [1], messageID: [2], epoch: 0, envelope: [2], now: 1) }
        } throws: { error in
            guard case .unavailable = error as? StoreError else { return false }
            return "\(error)".contains("nothing was stored")
        }
        try server.start()
        let after = try store.performAndWait {
            try $0.appendRoomMessage(room: "lobby", sender: [1], messageID: [3], epoch: 0, envelope: [3], now: 1)
        }
        let stored = try store.performAndWait { try $0.roomMessages(room: "lobby", after: 0, limit: 10) }
        #expect(stored.map(\.cursor) == [before.cursor, after.cursor], "the acknowledged messages are there, the refused one is not")
        #expect(stored.map(\.bytes) == [[1], [3]])
    }

    /// PostgreSQL restarted between two transactions: the store finds its connection gone as it
    /// begins the next, and connects again, instead of refusing the first write after a restart.
    @Test func theFirstWriteAfterARestartBetweenTransactionsIsStored() throws {
        let server = try TestPostgres()
        let store = try HavenStore(try server.freshDatabase())
        defer { store.close() }
        try store.performAndWait { try $0.createRoom(id: "lobby", name: "Lobby", kind: "support", now: 1) }
        try server.stop()
        try server.start()
        let after = try store.performAndWait {
            try $0.appendRoomMessage(room: "lobby", sender: [1], messageID: [1], epoch: 0, envelope: [1], now: 1)
        }
        #expect(try store.performAndWait { try $0.roomMessages(room: "lobby", after: 0, limit: 10) }.map(\.cursor) == [after.cursor])
    }

    /// The connection drops after PostgreSQL committed but before its answer arrived: the store
    /// asks PostgreSQL what became of the transaction, and reports stored what was stored.
    @Test func aCommitWhoseAnswerWasLostIsReportedAsWhatItWas() throws {
        let server = try TestPostgres.shared.get()
        guard case .postgres(let direct) = try server.freshDatabase() else { throw StoreError.closed }
        let cutter = try CommitAnswerCutter(serverFolder: server.folder)
        defer { cutter.stop() }
        let store = try HavenStore(.postgres(url: direct.replacingOccurrences(of: "host=\(server.folder)", with: "host=\(cutter.folder)")))
        defer { store.close() }
        try store.performAndWait { try $0.createRoom(id: "lobby", name: "Lobby", kind: "support", now: 1) }
        cutter.arm()
        let first = try store.performAndWait {
            try $0.appendRoomMessage(room: "lobby", sender: [1], messageID: [1], epoch: 0, envelope: [1], now: 1)
        }
        #expect(cutter.cuts.withLock { $0 } == 1, "the COMMIT's answer was dropped")
        guard case .stored(let cursor) = first else {
            Issue.record("a committed message whose answer was lost was reported \(first)")
            return
        }
        let resent = try store.performAndWait {
            try $0.appendRoomMessage(room: "lobby", sender: [1], messageID: [1], epoch: 0, envelope: [1], now: 1)
        }
        #expect(resent == .duplicate(cursor: cursor))
        #expect(try store.performAndWait { try $0.roomMessages(room: "lobby", after: 0, limit: 10) }.map(\.cursor) == [cursor])
    }

    /// Two nodes write one room at once while a third follows it by cursor, as a node catching
    /// up does: a cursor seen means every lower one is already readable, so the follower misses
    /// nothing.
    @Test func twoStoresOnOneDatabaseNumberTheirMessagesInTheOrderTheyCommit() throws {
        let location = try freshStoreLocation(.postgres, folder: "")
        let first = try HavenStore(location), second = try HavenStore(location), follower = try HavenStore(location)
        defer { [first, second, follower].forEach { $0.close() } }
        try first.performAndWait { try $0.createRoom(id: "lobby", name: "Lobby", kind: "support", now: 1) }
        let done = DispatchGroup()
        for index in 0..<600 {
            done.enter()
            (index.isMultiple(of: 2) ? first : second).perform({ database in
                try database.appendRoomMessage(room: "lobby", sender: [UInt8(index % 2)], messageID: Array("\(index)".utf8), epoch: 0, envelope: [1], now: 1)
            }, completion: { _ in done.leave() })
        }
        var followed: [Int64] = []
        let deadline = Date().addingTimeInterval(60)
        while followed.count < 600 && Date() < deadline {
            let after = followed.last ?? 0
            followed += try follower.performAndWait { try $0.roomMessages(room: "lobby", after: after, limit: 50) }.map(\.cursor)
        }
        done.wait()
        let stored = try follower.performAndWait { try $0.roomMessages(room: "lobby", after: 0, limit: 1_000) }.map(\.cursor)
        #expect(stored.count == 600)
        #expect(followed == stored, "following by cursor while two nodes wrote missed \(stored.count - followed.count) messages")
    }
}
