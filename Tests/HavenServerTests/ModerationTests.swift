import Foundation
import HavenClient
import HavenNet
import HavenProtocol
import HavenServer
import HavenStore
import HavenTestSupport
import Sodium
import Testing

/// Moderators act at once, every action is signed and logged, and nobody else can act.
@Suite struct ModerationTests {
    let lobby = try! RoomID("lobby")
    let organisation = try! SigningKeyPair.generate()

    /// A server, a moderator (by invite) and two members, all in the lobby with its key.
    struct Room {
        let server: TestServer
        let loop: ClientLoop
        let moderator: TestClient
        let alice: TestClient
        let bob: TestClient
    }

    func room() async throws -> Room {
        let key = organisation.publicKey
        let server = try TestServer {
            $0.organisationPublicKey = key
            $0.rateLimits = .unlimited
        }
        let loop = try ClientLoop()
        let moderator = try await server.staffClient(.moderator, "Mo", organisation: organisation, loop: loop)
        _ = try await moderator.client.join(lobby)
        await moderator.client.waitForKey(lobby)
        var members: [TestClient] = []
        for name in ["Quiet Otter", "Calm Heron"] {
            let member = try TestClient(name, loop: loop.loop, organisation: organisation.publicKey)
            try await member.enter(server, room: lobby)
            members.append(member)
        }
        return Room(server: server, loop: loop, moderator: moderator, alice: members[0], bob: members[1])
    }

    func moderated(_ client: TestClient, _ kind: ModerationKind) async throws -> ModerationAction {
        try await client.log.wait("a \(kind) announcement") { events in
            events.compactMap { if case .moderated(let action) = $0, action.kind == kind { return action } else { return nil } }.last
        }
    }

    @Test func aMemberCannotModerate() async throws {
        let room = try await room()
        await #expect(throws: ClientError.refused(code: "not_a_moderator", message: "only staff may moderate")) {
            try await room.alice.client.moderate(.ban, target: room.bob.member)
        }
    }

    @Test func deletedMessageIsWipedAndHiddenEverywhere() async throws {
        let room = try await room()
        let id = MessageID.random()
        _ = try await room.alice.client.send("something hurtful", to: lobby, id: id)
        _ = try await room.bob.waitForTexts(1, in: lobby)
        try await room.moderator.client.moderate(.deleteMessage, room: lobby, target: room.alice.member, message: id)
        #expect(try await moderated(room.bob, .deleteMessage).message == id, "the room is told to hide it")
        #expect(try await moderated(room.alice, .deleteMessage).message == id)

        // A member who was away when it was deleted is told on joining, to hide a copy they hold.
        let returning = try TestClient("Away Owl", loop: room.loop.loop, organisation: organisation.publicKey)
        try await returning.connect(room.server)
        _ = try await returning.client.join(lobby)
        #expect(try await moderated(returning, .deleteMessage).message == id)

        let store = try HavenStore(path: room.server.databasePath)
        defer { store.close() }
        #expect(try store.performAndWait { try $0.roomMessages(room: "lobby", after: 0, limit: 100) }.isEmpty, "the stored ciphertext is gone")
        // Nor is it in the WAL: the server checkpoints and truncates it after a deletion.
        _ = try await waitFor("the deleted message's id to leave the database files") {
            let files = [room.server.databasePath, room.server.databasePath + "-wal"].compactMap { FileManager.default.contents(atPath: $0) }
            return files.contains { $0.range(of: Data(id.bytes)) != nil } ? nil : true
        }
        let log = try store.performAndWait { try $0.moderationLog(room: "lobby") }
        let action = try FrameCodec.decodeValue(ModerationAction.self, from: #require(log.last).action)
        try action.verify()
        #expect(action.moderator == room.moderator.member)
    }

    @Test func suspendedMemberCanReadButNotPostUntilLifted() async throws {
        let room = try await room()
        let until = UInt64(Date().timeIntervalSince1970) + 3600
        let suspension = try await room.moderator.client.moderate(.suspend, target: room.alice.member, until: until)
        _ = try await moderated(room.alice, .suspend)
        await #expect(throws: ClientError.refused(code: "suspended", message: "you are suspended from posting for now; you can still read")) {
            try await room.alice.client.send("let me talk", to: lobby)
        }
        await #expect(throws: ClientError.self) { try await room.alice.client.sendDirect("psst", to: room.bob.member) }
        _ = try await room.bob.client.send("you can still read this", to: lobby)
        #expect(try await room.alice.waitForTexts(1, in: lobby) == ["you can still read this"])

        try await room.moderator.client.moderate(.lift, lifts: suspension.id)
        _ = try await room.alice.client.send("thank you", to: lobby)
        #expect(try await room.bob.waitForTexts(1, in: lobby).last == "thank you")

        // A room's audit trail for staff shows the service-wide actions too; a room's own log does not.
        let store = try HavenStore(path: room.server.databasePath)
        defer { store.close() }
        let kinds = { (wide: Bool) in
            try store.performAndWait { try $0.moderationLog(room: "lobby", includingServiceWide: wide) }
                .map { try FrameCodec.decodeValue(ModerationAction.self, from: $0.action).kind }
        }
        #expect(try kinds(true) == [.suspend, .lift])
        #expect(try kinds(false).isEmpty)
    }

    @Test func aSuspendedModeratorCannotLiftTheirOwnSuspension() async throws {
        let room = try await room()
        let second = try await room.server.staffClient(.moderator, "Ana Bright", organisation: organisation, loop: room.loop)
        let suspension = try await second.client.moderate(.suspend, target: room.moderator.member, until: 4_000_000_000)
        await #expect(throws: ClientError.refused(code: "cannot_lift_own", message: "a moderator cannot lift a sanction against themselves")) {
            try await room.moderator.client.moderate(.lift, target: room.moderator.member, lifts: suspension.id)
        }
        try await second.client.moderate(.lift, target: room.moderator.member, lifts: suspension.id)
        _ = try await room.moderator.client.send("back to work", to: lobby)
    }

    @Test func bannedIdentityIsDisconnectedAndRefusedAtLogin() async throws {
        let room = try await room()
        try await room.moderator.client.moderate(.ban, target: room.alice.member)
        _ = try await room.alice.log.wait("the disconnect") { events in
            events.contains { if case .disconnected(let code) = $0 { return code == WebSocketCloseCode.policyViolation.rawValue } else { return false } } ? true : nil
        }
        await #expect(throws: ClientError.refused(code: "banned", message: "this identity is banned")) {
            try await room.alice.client.connect(host: "127.0.0.1", port: room.server.port)
        }
        try await room.moderator.client.moderate(.deleteMessage, room: lobby, target: room.bob.member, message: .random())
        try await Task.sleep(for: .milliseconds(50))
    }

    /// A ban that takes effect while a login of its identity is being stored finds no session of
    /// it to disconnect yet: the login is refused when its record is stored, not welcomed.
    @Test func aLoginStoredWhileABanTakesEffectIsRefused() async throws {
        let room = try await room()
        let eve = try SigningKeyPair.generate()
        let socket = try await RawWebSocket.connect(port: room.server.port, loop: room.loop.loop)
        let challenge = try await socket.challenge()
        // Another connection holds the database's write lock. Bob's message takes the writer
        // (waiting for the lock), so the ban's record, then the login's, queue behind it in order.
        let blocker = try SQLiteConnection(path: room.server.databasePath)
        try blocker.execute("BEGIN IMMEDIATE")
        let envelope = try RoomEnvelope.seal(
            MessageBody(text: "while the database is busy"), key: try #require(await room.bob.client.currentKey(of: lobby)), sender: room.bob.client.identity)
        await room.bob.client.sendRaw(String(decoding: FrameCodec.encode(.send(EnvelopeFrame(envelope: envelope))), as: UTF8.self))
        let ban = ModerationAction.sign(
            .ban, target: MemberID(eve.publicKey), issuedAt: UInt64(Date().timeIntervalSince1970), by: room.moderator.client.identity)
        await room.moderator.client.sendRaw(String(decoding: FrameCodec.encode(.moderate(ModerationFrame(action: ban))), as: UTF8.self))
        _ = try await waitFor("the ban to wait for the writer") { try room.server.metric("haven_store_queue_depth") >= 1 ? true : nil }
        socket.send(String(decoding: FrameCodec.encode(.auth(challenge.respond(identity: eve, displayName: "Sly Fox"))), as: UTF8.self))
        _ = try await waitFor("the login to wait behind the ban") { try room.server.metric("haven_store_queue_depth") >= 2 ? true : nil }
        try blocker.execute("ROLLBACK")
        _ = try await socket.waitForFrame(containing: #""code":"banned""#)
        #expect(!socket.frames.contains { $0.contains(#""type":"welcome""#) }, "the banned identity was welcomed")
        _ = try await room.bob.client.send("and after it", to: lobby)
    }

    @Test func forgedOrReplayedActionsAreRefused() async throws {
        let room = try await room()
        let now = UInt64(Date().timeIntervalSince1970)
        var forged = ModerationAction.sign(.ban, target: room.bob.member, issuedAt: now, by: room.moderator.client.identity)
        forged.target = room.alice.member
        await room.moderator.client.sendRaw(String(decoding: FrameCodec.encode(.moderate(ModerationFrame(action: forged))), as: UTF8.self))
        _ = try await room.moderator.log.wait("the refusal") { events in
            events.contains { if case .serverError(let error) = $0 { return error.code == "signature_invalid" } else { return false } } ? true : nil
        }
        await #expect(throws: ClientError.refused(code: "stale_action", message: "the action's time is more than 5 minutes off")) {
            try await room.moderator.client.moderate(.ban, target: room.bob.member, issuedAt: now - 3600)
        }
        await #expect(throws: ClientError.self) { try await room.moderator.client.moderate(.lift, lifts: .random()) }
        _ = try await room.bob.client.send("still here", to: lobby)
    }
}
