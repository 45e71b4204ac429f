import Foundation
import HavenClient
import HavenProtocol
import HavenStore
import HavenTestSupport
import Sodium
import Testing

/// A database from before the room log upgrades in place, and its rooms move onto the log at
/// their next epoch with their history still readable.
@Suite struct RoomLogMigrationTests {
    let lobby = try! RoomID("lobby")

    @Test func anExistingRoomMovesOntoTheLogAtItsNextEpochAndKeepsItsHistory() async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("haven-migration-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let alice = try SigningKeyPair.generate()
        let oldKey = try EpochKey.generate(room: lobby, epoch: 3)
        // The room as schema 9 (the version before the log) left it: at epoch 3, Alice holding its
        // key, one message under it, and no room log table.
        do {
            let path = folder + "/haven.sqlite"
            try HavenStore.createSchema(at: path, version: 9)
            let bundle = FrameCodec.encodeValue(try EpochKeyBundle.seal(oldKey, to: MemberID(alice.publicKey), by: alice))
            let envelope = try RoomEnvelope.seal(MessageBody(text: "said before the upgrade"), key: oldKey, sender: alice)
            let member = alice.publicKey.bytes
            let connection = try SQLiteConnection(path: path)
            try connection.execute("INSERT INTO rooms (id, name, kind, current_epoch, created_at) VALUES ('lobby', 'Lobby', 'support', 3, 0)")
            try connection.prepare("INSERT INTO key_bundles (room, epoch, recipient, sealer, bundle, created_at) VALUES ('lobby', 3, ?, ?, ?, 0)")
                .query([.blob(member), .blob(member), .blob(bundle)])
            try connection.prepare("""
                INSERT INTO room_messages (room, sender, message_id, epoch, envelope, created_at) VALUES ('lobby', ?, ?, 3, ?, 0)
                """).query([.blob(member), .blob(envelope.id.bytes), .blob(FrameCodec.encodeValue(envelope))])
        }
        let server = try TestServer(directory: folder)
        let loop = try ClientLoop()
        let client = try TestClient("Quiet Otter", loop: loop.loop, identity: alice)
        try await client.connect(server)
        _ = try await client.client.join(lobby, replayHistory: true)
        await client.client.waitForKey(lobby)
        #expect(try await client.waitForTexts(1, in: lobby) == ["said before the upgrade"])
        let log = try #require(await client.client.log(of: lobby))
        #expect(log.start == 0 && log.currentEpoch?.epoch == 4, "the log starts at the room's next epoch")
        _ = try await client.client.send("said after the upgrade", to: lobby)

        let bob = try TestClient("Calm Heron", loop: loop.loop)
        try await bob.enter(server, room: lobby)
        _ = try await client.client.send("welcome, Bob", to: lobby)
        #expect(try await bob.waitForTexts(1, in: lobby) == ["welcome, Bob"])
    }
}

/// A room whose log is longer than a client's send queue comes in pages (64 KiB each, one frame, see
/// `HavenStoreTests/aLongLogIsReadInPages`); a newcomer asks for each next page and reads the log
/// to its end.
@Suite struct LongRoomLogTests {
    @Test func aNewcomerReadsALongLogPageByPageToItsEnd() async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("haven-long-log-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let room = try RoomID("lobby")
        let author = try SigningKeyPair.generate()
        let visitors = try (0..<20).map { _ in try SigningKeyPair.generate() }
        var log = RoomLog(room: room, organisation: nil)
        var stored: [RoomLogEntry] = []
        let key = try EpochKey.generate(room: room, epoch: 0)
        stored.append(RoomLogEntry(
            room: room, seq: 0, previous: log.head, kind: .epoch, author: MemberID(author.publicKey), epoch: 0, commitment: key.commitment,
            reason: "first", mode: .open, members: [MemberID(author.publicKey)], excluded: []).signed(by: author))
        try log.append(stored[0])
        // About 1.3 MB of joins and leaves, with no checkpoint after the first entry.
        for turn in 0..<4_000 {
            let visitor = visitors[(turn / 2) % visitors.count]
            let entry = RoomLogEntry(room: room, seq: log.length, previous: log.head, kind: turn % 2 == 0 ? .join : .leave,
                                     author: MemberID(visitor.publicKey)).signed(by: visitor)
            try log.append(entry)
            stored.append(entry)
        }
        do {
            let store = try HavenStore(path: folder + "/haven.sqlite")
            defer { store.close() }
            let rows = stored.map { ($0, FrameCodec.encodeValue($0)) }
            try store.performAndWait { database in
                _ = try database.createRoom(id: "lobby", name: "Lobby", kind: "support", now: 0)
                for (entry, bytes) in rows {
                    try database.appendRoomLog(room: "lobby", seq: Int64(entry.seq), kind: entry.kind.rawValue, entry: bytes, epoch: entry.epoch.map { Int64($0) }, now: 0)
                }
            }
        }
        let server = try TestServer(directory: folder)
        let loop = try ClientLoop()
        let newcomer = try TestClient("Quiet Otter", loop: loop.loop)
        try await newcomer.enter(server, room: room)
        #expect(await newcomer.client.log(of: room)?.length ?? 0 > 4_001, "the whole log arrived and the newcomer joined it")
        // Nothing was proposed before the whole log was read (a page split over several frames
        // once said "no more" in its first frame, and the newcomer wrote at a stale position).
        let refusals = newcomer.log.events.compactMap { if case .serverError(let error) = $0 { error.code } else { nil } }
        #expect(refusals.isEmpty, "\(refusals)")
        #expect(!newcomer.log.events.contains { if case .disconnected = $0 { true } else { false } })
    }
}
