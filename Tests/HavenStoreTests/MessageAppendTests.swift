import Foundation
import HavenNet
import HavenStore
import HavenTestSupport
import Testing

/// Messages stored with ``HavenStore/append(_:now:completion:)``: on PostgreSQL one
/// statement each, sent pipelined with the rest of their batch; on SQLite one after another.
/// The outcomes must be the same on both.
@Suite struct MessageAppendTests {
    let directory: TemporaryDirectory

    init() throws { directory = try TemporaryDirectory() }

    func openStore(on engine: StoreEngine) throws -> HavenStore {
        let store = try HavenStore(try freshStoreLocation(engine, folder: directory.path))
        try store.performAndWait { database in
            try database.createRoom(id: "lobby", name: "Lobby", kind: "support", now: 1)
            try database.upsertMember([0xB0], displayName: "Bo", now: 1)
        }
        return store
    }

    /// Queues `messages` while the writer is held, so they are committed as one batch, and
    /// returns what each did (in order) and how many commits were made from the hold on.
    func appendTogether(_ messages: [MessageAppend], to store: HavenStore) throws -> (results: [Result<AppendedMessage?, StoreError>], commits: Int) {
        let writerHeld = DispatchSemaphore(value: 0), release = DispatchSemaphore(value: 0)
        store.perform({ _ in
            writerHeld.signal()
            release.wait()
        }, completion: { _ in })
        writerHeld.wait()
        let before = store.metrics.commits
        let results = Locked<[Int: Result<AppendedMessage?, StoreError>]>([:])
        let done = DispatchGroup()
        for (index, message) in messages.enumerated() {
            done.enter()
            store.append(message, now: 3_600) { result in
                results.withLock { $0[index] = result }
                done.leave()
            }
        }
        release.signal()
        done.wait()
        let all = results.withLock { stored in messages.indices.map { stored[$0]! } }
        return (all, store.metrics.commits - before)
    }

    @Test(arguments: StoreEngine.allCases) func aBatchOfMessagesIsStoredOnceEachWithTheCursorBeforeEach(on engine: StoreEngine) throws {
        let store = try openStore(on: engine)
        defer { store.close() }
        let (results, commits) = try appendTogether([
            .room(room: "lobby", sender: [1], messageID: [1], epoch: 0, envelope: [0xA1]),
            .room(room: "lobby", sender: [1], messageID: [2], epoch: 0, envelope: [0xA2]),
            .room(room: "lobby", sender: [1], messageID: [1], epoch: 0, envelope: [0xA1]),
            .direct(recipient: [0xB0], messageID: [1], message: [0xD1], recipientKnown: false),
            .direct(recipient: [0xEE], messageID: [1], message: [0xD9], recipientKnown: false),
            .direct(recipient: [0xB0], messageID: [2], message: [0xD2], recipientKnown: false),
            .direct(recipient: [0xB0], messageID: [1], message: [0xD1], recipientKnown: false),
            .direct(recipient: [0xC0], messageID: [1], message: [0xD3], recipientKnown: true),
        ], to: store)
        let appended = try results.map { try $0.get() }
        guard case .stored(let first)? = appended[0]?.outcome, case .stored(let second)? = appended[1]?.outcome else {
            Issue.record("the room messages were not stored: \(appended)")
            return
        }
        #expect(appended[0]?.previous == 0 && appended[1]?.previous == first, "each room message carries the cursor before it")
        #expect(appended[2] == AppendedMessage(outcome: .duplicate(cursor: first), previous: second), "a resend in the same batch is found")
        guard case .stored(let direct)? = appended[3]?.outcome else {
            Issue.record("the private message to a known member was not stored: \(appended)")
            return
        }
        #expect(appended[3]?.previous == 0)
        #expect(appended[4] == nil, "a member who never logged in is not written to")
        #expect(appended[5]?.previous == direct && appended[5]?.outcome.cursor ?? 0 > direct)
        #expect(appended[6]?.outcome == .duplicate(cursor: direct))
        #expect(appended[7]?.outcome == .stored(cursor: direct), "a recipient online on this node needs no record; cursors count per recipient")
        #expect(commits == 2, "the writer's holder committed, then the whole batch at once")
        let room = try store.performAndWait { try $0.roomMessages(room: "lobby", after: 0, limit: 10) }
        #expect(room.map(\.bytes) == [[0xA1], [0xA2]])
        let privately = try store.performAndWait { try $0.directMessages(recipient: [0xB0], after: 0, limit: 10) }
        #expect(privately.map(\.bytes) == [[0xD1], [0xD2]])
        #expect(try store.performAndWait { try $0.directMessages(recipient: [0xEE], after: 0, limit: 10) }.isEmpty)
    }

    /// More messages than one pipeline carries (256): each chunk follows the one before.
    @Test(arguments: StoreEngine.allCases) func aBatchLongerThanOnePipelineIsStoredInOrder(on engine: StoreEngine) throws {
        let store = try openStore(on: engine)
        defer { store.close() }
        let messages = (0..<600).map { MessageAppend.room(room: "lobby", sender: [1], messageID: Array("\($0)".utf8), epoch: 0, envelope: [1]) }
        let (results, _) = try appendTogether(messages, to: store)
        let appended = try results.map { try $0.get() }
        let cursors = appended.map { $0?.outcome.cursor ?? 0 }
        #expect(Set(cursors).count == 600 && cursors == cursors.sorted(), "one cursor each, in the order sent")
        #expect(appended.dropFirst().map(\.?.previous) == cursors.dropLast().map { $0 }, "each message carries the one before it")
    }

    @Test(arguments: StoreEngine.allCases) func aMessageTheDatabaseRefusesFailsAloneAndTheRestOfItsBatchIsStored(on engine: StoreEngine) throws {
        let store = try openStore(on: engine)
        defer { store.close() }
        try store.performAndWait { try $0.createRoom(id: "cafe", name: "Cafe", kind: "support", now: 1) }
        let (results, _) = try appendTogether([
            .room(room: "lobby", sender: [1], messageID: [1], epoch: 0, envelope: [0xA1]),
            .room(room: "nowhere", sender: [1], messageID: [2], epoch: 0, envelope: [0xA2]),
            .room(room: "lobby", sender: [1], messageID: [3], epoch: 0, envelope: [0xA3]),
            .room(room: "cafe", sender: [1], messageID: [1], epoch: 0, envelope: [0xC1]),
            .direct(recipient: [0xB0], messageID: [1], message: [0xD1], recipientKnown: false),
        ], to: store)
        #expect((try? results[0].get()) != nil)
        #expect(throws: StoreError.self, "a message for a room that does not exist") { try results[1].get() }
        #expect((try? results[2].get()) != nil)
        #expect(throws: StoreError.conflict("this message id was already used in another room"), "not a resend of the lobby's message") {
            try results[3].get()
        }
        #expect((try? results[4].get()) != nil)
        #expect(try store.performAndWait { try $0.roomMessages(room: "cafe", after: 0, limit: 10) }.isEmpty)
        let room = try store.performAndWait { try $0.roomMessages(room: "lobby", after: 0, limit: 10) }
        #expect(room.map(\.bytes) == [[0xA1], [0xA3]], "the refused message left nothing, the others were stored")
        #expect(try store.performAndWait { try $0.directMessages(recipient: [0xB0], after: 0, limit: 10) }.count == 1)
    }
}
