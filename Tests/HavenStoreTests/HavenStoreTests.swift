import Foundation
import HavenNet
import HavenStore
import HavenTestSupport
import Postgres
import Testing

/// The store's behaviour, the same on every engine: each test runs on SQLite and on PostgreSQL.
@Suite struct HavenStoreTests {
    let directory: TemporaryDirectory
    var path: String { directory.path + "/haven.sqlite" }

    init() throws { directory = try TemporaryDirectory() }

    /// A new store on `engine` with a room, "lobby", and where it lives.
    func openStore(on engine: StoreEngine) throws -> (store: HavenStore, location: StoreLocation) {
        let location = try freshStoreLocation(engine, folder: directory.path)
        let store = try HavenStore(location)
        try store.performAndWait { try $0.createRoom(id: "lobby", name: "Lobby", kind: "support", now: 1) }
        return (store, location)
    }

    @Test(arguments: StoreEngine.allCases) func anOperationThatFailsHalfwayLeavesNothingBehindAndItsBatchStillCommits(on engine: StoreEngine) async throws {
        struct Halfway: Error {}
        let store = try openStore(on: engine).store
        defer { store.close() }
        let results = Locked<[String]>([])
        let done = DispatchGroup()
        for caller: UInt8 in 1...6 {
            done.enter()
            store.perform({ database in
                try database.appendCallRecord(caller: [caller], callee: [0], startedAt: Int64(caller), endedAt: 9)
                if caller.isMultiple(of: 2) { throw Halfway() }
            }) { result in
                results.withLock { $0.append((try? result.get()) == nil ? "failed" : "stored") }
                done.leave()
            }
        }
        done.wait()
        #expect(results.withLock { $0.filter { $0 == "failed" }.count } == 3)
        let kept = try store.performAndWait { try $0.callLog() }.map(\.caller)
        #expect(kept == [[1], [3], [5]], "the failed operations' first writes were rolled back")
    }

    @Test(arguments: StoreEngine.allCases) func roomMessagesAreStoredOncePerSenderAndID(on engine: StoreEngine) throws {
        let store = try openStore(on: engine).store
        defer { store.close() }
        let sender: [UInt8] = [1, 2, 3]
        let first = try store.performAndWait {
            try $0.appendRoomMessage(room: "lobby", sender: sender, messageID: [9], epoch: 0, envelope: [0xAA], now: 5)
        }
        let resend = try store.performAndWait {
            try $0.appendRoomMessage(room: "lobby", sender: sender, messageID: [9], epoch: 0, envelope: [0xAA], now: 6)
        }
        #expect(first == .stored(cursor: 1))
        #expect(resend == .duplicate(cursor: 1))
        let otherSenderSameID = try store.performAndWait {
            try $0.appendRoomMessage(room: "lobby", sender: [7], messageID: [9], epoch: 0, envelope: [0xBB], now: 6)
        }
        // Cursors only increase; an ignored duplicate may leave a gap.
        guard case .stored(let cursor) = otherSenderSameID else {
            Issue.record("a different sender's id is a different message")
            return
        }
        #expect(cursor > 1)
        #expect(try store.performAndWait { try $0.roomMessages(room: "lobby", after: 0, limit: 10) }.map(\.bytes) == [[0xAA], [0xBB]])
    }

    @Test(arguments: StoreEngine.allCases) func historyPagesByCursorInOrder(on engine: StoreEngine) throws {
        let store = try openStore(on: engine).store
        defer { store.close() }
        try store.performAndWait { database in
            for index in 0..<25 {
                _ = try database.appendRoomMessage(room: "lobby", sender: [1], messageID: [UInt8(index)], epoch: 0, envelope: [UInt8(index)], now: 1)
            }
        }
        var cursor: Int64 = 0
        var seen: [UInt8] = []
        while true {
            let after = cursor
            let page = try store.performAndWait { try $0.roomMessages(room: "lobby", after: after, limit: 10) }
            guard let last = page.last else { break }
            seen += page.map { $0.bytes[0] }
            cursor = last.cursor
        }
        #expect(seen == (0..<25).map(UInt8.init))
    }

    @Test(arguments: StoreEngine.allCases) func manyConcurrentWritesAreGroupCommittedAndAllReported(on engine: StoreEngine) throws {
        let store = try openStore(on: engine).store
        let done = DispatchGroup()
        let results = Locked<[Int64]>([])
        for index in 0..<2000 {
            done.enter()
            store.perform({ database in
                try database.appendRoomMessage(
                    room: "lobby", sender: [2], messageID: Array("\(index)".utf8), epoch: 0, envelope: [1], now: 1)
            }, completion: { result in
                if case .success(let outcome) = result { results.withLock { $0.append(outcome.cursor) } }
                done.leave()
            })
        }
        done.wait()
        let metrics = store.metrics
        store.close()
        #expect(Set(results.withLock { $0 }).count == 2000)
        #expect(metrics.operations >= 2001)
        #expect(metrics.commits < metrics.operations, "several operations share a commit")
    }

    @Test(arguments: StoreEngine.allCases) func committedDataSurvivesReopening(on engine: StoreEngine) throws {
        let (store, location) = try openStore(on: engine)
        do {
            _ = try store.performAndWait {
                try $0.appendDirectMessage(recipient: [2], messageID: [3], message: [4, 5], now: 1)
            }
            store.close()
        }
        let reopened = try HavenStore(location)
        defer { reopened.close() }
        #expect(try reopened.performAndWait { try $0.directMessages(recipient: [2], after: 0, limit: 10) } == [StoredItem(cursor: 1, bytes: [4, 5])])
        #expect(try reopened.performAndWait { try $0.rooms() }.map(\.id) == ["lobby"])
    }

    @Test(arguments: StoreEngine.allCases) func messageForAnUnknownRoomFailsWithoutLosingTheBatch(on engine: StoreEngine) throws {
        let store = try openStore(on: engine).store
        defer { store.close() }
        #expect(throws: StoreError.self) {
            try store.performAndWait {
                try $0.appendRoomMessage(room: "nowhere", sender: [1], messageID: [1], epoch: 0, envelope: [1], now: 1)
            }
        }
        #expect(try store.performAndWait { try $0.room("lobby") }?.name == "Lobby")
    }

    @Test(arguments: StoreEngine.allCases) func keyBundlesAreKeptOncePerSealerRecipientAndEpoch(on engine: StoreEngine) throws {
        let store = try openStore(on: engine).store
        defer { store.close() }
        let stored = try store.performAndWait { database in
            [try database.storeKeyBundle(room: "lobby", epoch: 0, recipient: [5], sealer: [1], bundle: [1], now: 1),
             try database.storeKeyBundle(room: "lobby", epoch: 0, recipient: [5], sealer: [2], bundle: [2], now: 1),
             try database.storeKeyBundle(room: "lobby", epoch: 0, recipient: [5], sealer: [2], bundle: [4], now: 1),
             try database.storeKeyBundle(room: "lobby", epoch: 1, recipient: [5], sealer: [1], bundle: [3], now: 1)]
        }
        #expect(stored == [true, true, false, true], "a second sealer's bundle is kept too; one sealer's repeat is not")
        #expect(try store.performAndWait { try $0.keyBundles(room: "lobby", recipient: [5]) } == [[1], [2], [3]])
        #expect(try store.performAndWait { try $0.keyHolders(room: "lobby", epoch: 0) } == [[5]])
    }

    @Test(arguments: StoreEngine.allCases) func aLongLogIsReadInPages(on engine: StoreEngine) throws {
        let store = try openStore(on: engine).store
        defer { store.close() }
        let (first, rest) = try store.performAndWait { database in
            _ = try database.createRoom(id: "lobby", name: "Lobby", kind: "support", now: 0)
            for seq in 0..<1_000 {
                try database.appendRoomLog(room: "lobby", seq: Int64(seq), kind: "join", entry: [UInt8](repeating: 7, count: 1_000), epoch: nil, now: 0)
            }
            let first = try database.roomLogPage(room: "lobby", from: 0, maxBytes: 300_000)
            return (first, try database.roomLogPage(room: "lobby", from: Int64(first.entries.count), maxBytes: 10_000_000))
        }
        #expect(first.entries.count == 300 && first.more, "a page stops at its size and says more follows")
        #expect(rest.entries.count == 700 && !rest.more)
    }

    @Test(arguments: StoreEngine.allCases) func theFirstNodeToAskSetsTheDaysAddressKeyAndOldKeysGo(on engine: StoreEngine) throws {
        let store = try openStore(on: engine).store
        defer { store.close() }
        let first = try store.performAndWait { try $0.agreeOnAddressKey(day: 100, candidate: Array(repeating: 1, count: 32)) }
        let second = try store.performAndWait { try $0.agreeOnAddressKey(day: 100, candidate: Array(repeating: 2, count: 32)) }
        #expect(first == Array(repeating: 1, count: 32) && second == first, "every node keys addresses alike")
        _ = try store.performAndWait { try $0.agreeOnAddressKey(day: 101, candidate: Array(repeating: 3, count: 32)) }
        _ = try store.performAndWait { try $0.agreeOnAddressKey(day: 102, candidate: Array(repeating: 4, count: 32)) }
        let again = try store.performAndWait { try $0.agreeOnAddressKey(day: 100, candidate: Array(repeating: 5, count: 32)) }
        #expect(again == Array(repeating: 5, count: 32), "day 100's key was deleted once day 102 came")
    }

    @Test(arguments: StoreEngine.allCases) func workAfterCloseIsRefused(on engine: StoreEngine) throws {
        let store = try openStore(on: engine).store
        store.close()
        #expect(throws: StoreError.closed) { try store.performAndWait { try $0.rooms() } }
    }

    @Test func databaseFromANewerHavenIsRefused() throws {
        do {
            let connection = try SQLiteConnection(path: path)
            try connection.execute("PRAGMA user_version = 99")
        }
        #expect(throws: StoreError.schemaTooNew(found: 99, supported: HavenStore.schemaVersion)) { try HavenStore(path: path) }
    }

    /// Both engines are at the same schema version: PostgreSQL's migrations follow SQLite's.
    @Test func aNewPostgreSQLDatabaseIsAtTheSchemaVersionOfSQLite() throws {
        guard case .postgres(let url) = try freshStoreLocation(.postgres, folder: "") else { throw StoreError.closed }
        try HavenStore(postgres: url).close()
        let version = try PostgresConnection(url: url).query("SELECT version FROM haven_schema").rows
        #expect(version == [[.integer(Int64(HavenStore.schemaVersion))]])
    }

    @Test func aPostgreSQLDatabaseFromANewerHavenIsRefused() throws {
        guard case .postgres(let url) = try freshStoreLocation(.postgres, folder: directory.path) else { return }
        try HavenStore(postgres: url).close()
        try PostgresConnection(url: url).execute("UPDATE haven_schema SET version = 99")
        #expect(throws: StoreError.schemaTooNew(found: 99, supported: HavenStore.schemaVersion)) { try HavenStore(postgres: url) }
    }
}
