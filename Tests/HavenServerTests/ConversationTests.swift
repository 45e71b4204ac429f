import Foundation
import HavenClient
import HavenProtocol
import HavenServer
import HavenTestSupport
import Sodium
import Testing

@Suite struct ConversationTests {
    let lobby = try! RoomID("lobby")

    /// A server and two members in its lobby (the loop their clients run on comes along, to keep).
    func twoInLobby(_ first: String, _ second: String) async throws -> (TestServer, ClientLoop, TestClient, TestClient) {
        let server = try TestServer()
        let clients = try ClientLoop()
        let one = try TestClient(first, loop: clients.loop)
        let other = try TestClient(second, loop: clients.loop)
        try await one.enter(server, room: lobby)
        try await other.enter(server, room: lobby)
        return (server, clients, one, other)
    }

    @Test func membersTalkInARoomAndALateJoinerGetsTheKeyFromAPeer() async throws {
        let server = try TestServer()
        let clients = try ClientLoop()
        let alice = try TestClient("Quiet Otter", loop: clients.loop)
        let bob = try TestClient("Calm Heron", loop: clients.loop)
        try await alice.connect(server)
        let joined = try await alice.client.join(lobby)
        #expect(joined.keyHolders.isEmpty, "a fresh room has no key yet; Alice creates it")
        await alice.client.waitForKey(lobby)
        _ = try await alice.client.send("is anyone awake?", to: lobby)

        // Bob arrives later with nobody on staff online: Alice's client seals the key to him.
        try await bob.connect(server)
        let bobJoined = try await bob.client.join(lobby, replayHistory: true)
        #expect(bobJoined.keyHolders == [alice.member])
        await bob.client.waitForKey(lobby)
        #expect(try await bob.waitForTexts(1, in: lobby) == ["is anyone awake?"])

        _ = try await bob.client.send("I am. Rough night?", to: lobby)
        _ = try await alice.client.send("yes, thank you for answering", to: lobby)
        #expect(try await alice.waitForTexts(1, in: lobby) == ["I am. Rough night?"])
        #expect(try await bob.waitForTexts(2, in: lobby) == ["is anyone awake?", "yes, thank you for answering"])
        let sealers = bob.log.events.compactMap { event -> MemberID? in
            if case .keyReceived(_, _, let sealer) = event { return sealer }
            return nil
        }
        #expect(sealers == [alice.member])
    }

    @Test func membersJoiningAtTheSameMomentAllGetTheKey() async throws {
        let server = try TestServer { $0.rateLimits = .unlimited }
        let clients = try ClientLoop()
        let alice = try TestClient("Quiet Otter", loop: clients.loop)
        try await alice.enter(server, room: lobby)
        let newcomers = try ["Calm Heron", "Gentle Fox", "Steady Wren", "Kind Owl"].map { try TestClient($0, loop: clients.loop) }
        for newcomer in newcomers { try await newcomer.connect(server) }
        // All four race for the same position in the room's log; the losers sign again.
        try await withThrowingTaskGroup(of: Void.self) { group in
            for newcomer in newcomers { group.addTask { _ = try await newcomer.client.join(self.lobby) } }
            try await group.waitForAll()
        }
        for newcomer in newcomers {
            _ = try await waitFor("\(newcomer.client.displayName) to hold the key", timeout: 20) {
                await newcomer.client.keyHolders(in: self.lobby).contains(newcomer.member) ? true : nil
            }
        }
        #expect(await alice.client.members(of: lobby) == Set([alice.member] + newcomers.map(\.member)))
    }

    @Test func reconnectingClientGetsExactlyWhatItMissedOnceInOrder() async throws {
        let (server, clients, alice, carol) = try await twoInLobby("Quiet Otter", "Gentle Fox")
        defer { withExtendedLifetime(clients) {} }   // the clients' loop runs to the end
        _ = try await alice.client.send("before", to: lobby)
        #expect(try await carol.waitForTexts(1, in: lobby) == ["before"])

        await carol.client.disconnect(abruptly: true)
        _ = try await carol.log.wait("disconnect") { events in
            events.contains { if case .disconnected = $0 { return true } else { return false } } ? true : nil
        }
        for index in 1...5 { _ = try await alice.client.send("missed \(index)", to: lobby) }

        try await carol.connect(server)
        let expected = ["before"] + (1...5).map { "missed \($0)" }
        #expect(try await carol.waitForTexts(6, in: lobby) == expected)
        _ = try await alice.client.send("live again", to: lobby)
        #expect(try await carol.waitForTexts(7, in: lobby) == expected + ["live again"])
        try await Task.sleep(for: .milliseconds(200))
        #expect(carol.texts(in: lobby).count == 7, "nothing doubled")
    }

    @Test func directMessagesReachTheRecipientLiveAndAfterReconnecting() async throws {
        let server = try TestServer()
        let clients = try ClientLoop()
        let alice = try TestClient("Quiet Otter", loop: clients.loop)
        let bob = try TestClient("Calm Heron", loop: clients.loop)
        try await alice.connect(server)
        try await bob.connect(server)
        _ = try await alice.client.sendDirect("can we talk privately?", to: bob.member)
        #expect(try await bob.waitForDirectTexts(1) == ["can we talk privately?"])

        await bob.client.disconnect()
        try await Task.sleep(for: .milliseconds(100))
        _ = try await alice.client.sendDirect("I'll wait for you", to: bob.member)
        try await bob.connect(server)
        #expect(try await bob.waitForDirectTexts(2) == ["can we talk privately?", "I'll wait for you"])
        let senders = bob.log.events.compactMap { event -> MemberID? in
            if case .directMessage(let message, _) = event { return message.sender }
            return nil
        }
        #expect(senders == [alice.member, alice.member])
    }

    @Test func resendWithTheSameIDIsAcknowledgedOnceAndDeliveredOnce() async throws {
        let (server, clients, alice, bob) = try await twoInLobby("Quiet Otter", "Calm Heron")
        defer { withExtendedLifetime((server, clients)) {} }   // the server and the clients' loop run to the end
        let id = MessageID.random()
        let first = try await alice.client.send("only once", to: lobby, id: id)
        let again = try await alice.client.send("only once", to: lobby, id: id)
        #expect(first == again)
        _ = try await alice.client.send("next", to: lobby)
        #expect(try await bob.waitForTexts(2, in: lobby) == ["only once", "next"])
    }

    @Test func anUnpaddedMessageIsRefusedAndNothingIsStored() async throws {
        let (server, clients, alice, bob) = try await twoInLobby("Quiet Otter", "Calm Heron")
        defer { withExtendedLifetime(clients) {} }   // the clients' loop runs to the end
        let key = try #require(await alice.client.currentKey(of: lobby))
        var envelope = try RoomEnvelope.seal(MessageBody(text: "my exact length"), key: key, sender: alice.client.identity)
        envelope.ciphertext = WireBytes(Array(envelope.ciphertext.bytes.dropLast(7)))
        await alice.client.sendRaw(String(decoding: FrameCodec.encode(.send(EnvelopeFrame(envelope: envelope))), as: UTF8.self))
        var direct = try DirectMessage.seal(MessageBody(text: "my exact length"), from: alice.client.identity, to: bob.member)
        direct.sealed = WireBytes(Array(direct.sealed.bytes.dropLast(7)))
        await alice.client.sendRaw(String(decoding: FrameCodec.encode(.direct(DirectFrame(message: direct))), as: UTF8.self))
        let refusals = try await alice.log.wait("two padding refusals") { events in
            let found = events.compactMap { if case .serverError(let error) = $0, error.code == "padding_invalid" { error.message } else { nil } }
            return found.count >= 2 ? found : nil
        }
        #expect(refusals == ["room message ciphertext is not padded to one of the padded sizes", "sealed is not padded to one of the padded sizes"])
        #expect(try server.count("SELECT COUNT(*) FROM room_messages") == 0 && server.count("SELECT COUNT(*) FROM direct_messages") == 0)
        _ = try await alice.client.send("padded, as the client pads it", to: lobby)
        #expect(try await bob.waitForTexts(1, in: lobby) == ["padded, as the client pads it"], "the server keeps serving")
    }

    @Test func nobodyWritesPrivatelyToThemselves() async throws {
        let server = try TestServer()
        let clients = try ClientLoop()
        let alice = try TestClient("Quiet Otter", loop: clients.loop)
        try await alice.enter(server, room: lobby)
        await #expect(throws: ClientError.refused(code: "invalid_recipient", message: "a private message goes to someone else")) {
            _ = try await alice.client.sendDirect("a note to myself", to: alice.member)
        }
        #expect(try server.count("SELECT COUNT(*) FROM direct_messages") == 0)
    }

    @Test func theDatabaseHoldsNoPlaintext() async throws {
        let server = try TestServer()
        let clients = try ClientLoop()
        let alice = try TestClient("Quiet Otter", loop: clients.loop)
        let bob = try TestClient("Calm Heron", loop: clients.loop)
        try await alice.connect(server)
        try await bob.connect(server)
        _ = try await alice.client.join(lobby)
        await alice.client.waitForKey(lobby)
        let marker = "PLAINTEXT-MARKER-\(UUID().uuidString)"
        _ = try await alice.client.send("room \(marker)", to: lobby)
        _ = try await alice.client.sendDirect("direct \(marker)", to: bob.member)
        #expect(try await bob.waitForDirectTexts(1) == ["direct \(marker)"])
        let files = [server.databasePath, server.databasePath + "-wal"]
        let bytes = files.compactMap { FileManager.default.contents(atPath: $0) }.reduce(Data(), +)
        #expect(bytes.count > 0)
        #expect(bytes.range(of: Data(marker.utf8)) == nil)
        #expect(bytes.range(of: Data("Quiet Otter".utf8)) != nil, "display names are metadata the server keeps")
    }
}
