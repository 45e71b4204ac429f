import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import HavenClient
import HavenNet
import HavenServer
import HavenStore
import HavenProtocol
import HavenTestSupport
import Sodium
import Testing

/// Misbehaving clients get a clear error or close code, and everyone else keeps being served.
@Suite struct BadInputTests {
    let lobby = try! RoomID("lobby")

    /// A logged-in pair in the lobby that the tests check is still served afterwards.
    struct Bystanders {
        let alice: TestClient
        let bob: TestClient

        init(server: TestServer, loop: EventLoop, lobby: RoomID) async throws {
            alice = try TestClient("Quiet Otter", loop: loop)
            bob = try TestClient("Calm Heron", loop: loop)
            try await alice.enter(server, room: lobby)
            try await bob.enter(server, room: lobby)
        }

        func stillServed(_ lobby: RoomID, expecting count: Int = 1) async throws {
            _ = try await alice.client.send("still here \(count)", to: lobby)
            let texts = try await bob.waitForTexts(count, in: lobby)
            #expect(texts.last == "still here \(count)")
        }
    }

    @Test func unknownFrameTypesAndMalformedFramesGetErrorsAndTheConnectionContinues() async throws {
        let server = try TestServer()
        let clients = try ClientLoop()
        let bystanders = try await Bystanders(server: server, loop: clients.loop, lobby: lobby)
        let (socket, _) = try await RawWebSocket.loggedIn(to: server, loop: clients.loop)
        socket.send(#"{"v":1,"type":"teleport"}"#)
        _ = try await socket.waitForFrame(containing: "unknown_frame_type")
        socket.send("not json at all")
        _ = try await socket.waitForFrame(containing: "malformed_json")
        socket.send(#"{"v":7,"type":"join","room":"lobby"}"#)
        _ = try await socket.waitForFrame(containing: "unsupported_version")
        socket.send(#"{"v":1,"type":"message","envelope":{}}"#)
        _ = try await socket.waitForFrame(containing: "missing_field")
        socket.send(#"{"v":1,"type":"listRooms"}"#)
        _ = try await socket.waitForFrame(containing: #""type":"rooms""#)
        try await bystanders.stillServed(lobby)
    }

    @Test func envelopeWithABadSignatureIsRefusedAndNotDelivered() async throws {
        let server = try TestServer()
        let clients = try ClientLoop()
        let bystanders = try await Bystanders(server: server, loop: clients.loop, lobby: lobby)
        let (socket, identity) = try await RawWebSocket.joined(lobby, on: server, loop: clients.loop)
        let key = try EpochKey.generate(room: lobby, epoch: 0)
        var envelope = try RoomEnvelope.seal(MessageBody(text: "forged"), key: key, sender: identity)
        envelope.ciphertext.bytes[40] ^= 1
        socket.send(String(decoding: FrameCodec.encode(.send(EnvelopeFrame(envelope: envelope))), as: UTF8.self))
        _ = try await socket.waitForFrame(containing: "signature_invalid")
        // Impersonation: a valid signature, but by someone other than the logged-in member.
        let other = try SigningKeyPair.generate()
        let spoof = try RoomEnvelope.seal(MessageBody(text: "spoof"), key: key, sender: other)
        socket.send(String(decoding: FrameCodec.encode(.send(EnvelopeFrame(envelope: spoof))), as: UTF8.self))
        _ = try await socket.waitForFrame(containing: "sender_mismatch")
        try await bystanders.stillServed(lobby)
        #expect(bystanders.bob.log.events.allSatisfy { if case .undecryptable = $0 { return false } else { return true } })
    }

    @Test func aClientRefusesAChallengeFromAnotherServerBeforeSigningAnything() async throws {
        let server = try TestServer()
        let clients = try ClientLoop()
        let member = try TestClient("Quiet Otter", loop: clients.loop)
        await #expect(throws: ClientError.wrongServer(expected: "haven.provider.example")) {
            try await member.client.connect(host: "127.0.0.1", port: server.port, serverName: "haven.provider.example")
        }
        try await member.client.connect(host: "127.0.0.1", port: server.port, serverName: "haven.test")
    }

    @Test func replayedLoginAnswerIsRefusedAndTheConnectionClosed() async throws {
        let server = try TestServer()
        let clients = try ClientLoop()
        let identity = try SigningKeyPair.generate()
        let first = try await RawWebSocket.connect(port: server.port, loop: clients.loop)
        let answer = try await first.challenge().respond(identity: identity, displayName: "Quiet Otter")
        first.send(String(decoding: FrameCodec.encode(.auth(answer)), as: UTF8.self))
        _ = try await first.waitForFrame(containing: #""type":"welcome""#)

        let second = try await RawWebSocket.connect(port: server.port, loop: clients.loop)
        _ = try await second.challenge()
        second.send(String(decoding: FrameCodec.encode(.auth(answer)), as: UTF8.self))
        _ = try await second.waitForFrame(containing: "signature_invalid")
        #expect(try await second.waitForClose() == WebSocketCloseCode.authenticationFailed.rawValue)
    }

    @Test func framesBeforeLoginCloseTheConnection() async throws {
        let server = try TestServer()
        let clients = try ClientLoop()
        let socket = try await RawWebSocket.connect(port: server.port, loop: clients.loop)
        _ = try await socket.challenge()
        socket.send(#"{"v":1,"type":"join","room":"lobby"}"#)
        _ = try await socket.waitForFrame(containing: "not_authenticated")
        #expect(try await socket.waitForClose() == WebSocketCloseCode.authenticationFailed.rawValue)
    }

    /// Before login only an `auth` comes (a few hundred bytes), so a longer message is refused
    /// at once: a stranger cannot make the server set aside room for a full-size one. After login
    /// the usual limit applies.
    @Test func aLongMessageBeforeLoginIsRefusedButNotAfter() async throws {
        let server = try TestServer()
        let clients = try ClientLoop()
        let stranger = try await RawWebSocket.connect(port: server.port, loop: clients.loop)
        _ = try await stranger.challenge()
        stranger.send(String(repeating: "a", count: 5_000))
        #expect(try await stranger.waitForClose() == WebSocketCloseCode.messageTooBig.rawValue)
        let (member, _) = try await RawWebSocket.loggedIn(to: server, loop: clients.loop)
        member.send(#"{"v":1,"type":"listRooms","padding":"\#(String(repeating: "a", count: 20_000))"}"#)
        _ = try await member.waitForFrame(containing: #""type":"rooms""#)
        #expect(member.closeCode == nil)
    }

    @Test func silentClientIsClosedAtTheLoginTimeout() async throws {
        let server = try TestServer { $0.loginTimeoutMilliseconds = 300 }
        let clients = try ClientLoop()
        let socket = try await RawWebSocket.connect(port: server.port, loop: clients.loop)
        _ = try await socket.challenge()
        #expect(try await socket.waitForClose() == WebSocketCloseCode.timeout.rawValue)
    }

    @Test func postingToARoomNotJoinedIsRefused() async throws {
        let server = try TestServer()
        let clients = try ClientLoop()
        let (socket, identity) = try await RawWebSocket.loggedIn(to: server, loop: clients.loop)
        let envelope = try RoomEnvelope.seal(
            MessageBody(text: "hello?"), key: EpochKey.generate(room: RoomID("night-owls"), epoch: 0), sender: identity)
        socket.send(String(decoding: FrameCodec.encode(.send(EnvelopeFrame(envelope: envelope))), as: UTF8.self))
        _ = try await socket.waitForFrame(containing: "not_a_member")
        socket.send(#"{"v":1,"type":"join","room":"no-such-room"}"#)
        _ = try await socket.waitForFrame(containing: "unknown_room")
    }

    @Test func floodPastTheRateLimitIsRefusedAndEveryAcknowledgedMessageIsKept() async throws {
        let server = try TestServer()
        let clients = try ClientLoop()
        let bystanders = try await Bystanders(server: server, loop: clients.loop, lobby: lobby)
        let flooder = try TestClient("Loud Crow", loop: clients.loop)
        try await flooder.enter(server, room: lobby)
        var acknowledged: [String] = []
        var refused = 0
        for index in 0..<40 {
            do {
                _ = try await flooder.client.send("flood \(index)", to: lobby)
                acknowledged.append("flood \(index)")
            } catch ClientError.refused(let code, _) {
                #expect(code == "rate_limited")
                refused += 1
            }
        }
        #expect(refused > 0, "a new identity may not post 40 messages at once")
        #expect(!acknowledged.isEmpty)
        try await bystanders.stillServed(lobby, expecting: acknowledged.count + 1)

        // Everything acknowledged is stored: a newcomer replaying the room sees exactly it.
        let reader = try TestClient("Late Owl", loop: clients.loop)
        try await reader.enter(server, room: lobby, replayHistory: true)
        let texts = try await reader.waitForTexts(acknowledged.count + 1, in: lobby)
        #expect(texts.filter { $0.hasPrefix("flood") } == acknowledged)
    }

    @Test func clientThatStopsReadingIsDisconnectedAndOthersAreServed() async throws {
        let server = try TestServer {
            $0.network.maxQueuedBytes = 64 * 1024
            $0.rateLimits = .unlimited
            $0.rateLimits.replayStallSeconds = 1
        }
        let clients = try ClientLoop()
        let bystanders = try await Bystanders(server: server, loop: clients.loop, lobby: lobby)
        let (sleeper, _) = try await RawWebSocket.joined(lobby, on: server, loop: clients.loop)
        sleeper.stopReading()
        // Enough to fill the kernel's socket buffers on both sides (several MB on loopback) and then
        // half the server's 64 KB queue: the sleeper falls behind, to catch up from the store...
        let text = String(repeating: "x", count: 12_000)
        var sent = 0
        while try !server.server.metricsText().contains("haven_receivers_fell_behind_total 1") {
            try #require(sent < 4000, "the sleeping reader never fell behind")
            sent += 1
            _ = try await bystanders.alice.client.send("\(sent) \(text)", to: lobby)
        }
        // ...which it does not do, reading nothing: once its catch-up has waited a second, it is let go.
        let deadline = Date().addingTimeInterval(30)
        while try !server.server.metricsText().contains("haven_slow_consumers_disconnected_total 1") {
            try #require(Date() < deadline, "the sleeping reader was never let go")
            try await Task.sleep(for: .milliseconds(50))
        }
        // A reader that does not read cannot see the close either; once it reads again, it finds
        // the buffered frames and then the end of the connection.
        sleeper.resumeReading()
        _ = try await sleeper.waitForClose()
        _ = try await bystanders.bob.waitForTexts(sent, in: lobby, timeout: 30)
        try await bystanders.stillServed(lobby, expecting: sent + 1)
    }

    @Test func oversizedFrameIsClosedWith1009AndOthersAreServed() async throws {
        let server = try TestServer()
        let clients = try ClientLoop()
        let bystanders = try await Bystanders(server: server, loop: clients.loop, lobby: lobby)
        let (socket, _) = try await RawWebSocket.loggedIn(to: server, loop: clients.loop)
        socket.send(String(repeating: "a", count: 200 * 1024))
        #expect(try await socket.waitForClose() == WebSocketCloseCode.messageTooBig.rawValue)
        try await bystanders.stillServed(lobby)
    }

    @Test func malformedHTTPOversizedHeadersAndInvalidUTF8AreRefusedWhileOthersAreServed() async throws {
        let server = try TestServer()
        let clients = try ClientLoop()
        let bystanders = try await Bystanders(server: server, loop: clients.loop, lobby: lobby)
        let malformed = try RawSocket(port: server.port)
        malformed.send("GARBAGE / HTTP/9\r\n\r\n")
        #expect(String(decoding: malformed.readToEnd(), as: UTF8.self).hasPrefix("HTTP/1.1 400"))
        let oversized = try RawSocket(port: server.port)
        oversized.send("GET /healthz HTTP/1.1\r\nX-Big: \(String(repeating: "b", count: 20_000))\r\n\r\n")
        #expect(String(decoding: oversized.readToEnd(), as: UTF8.self).hasPrefix("HTTP/1.1 431"))
        let invalidText = try RawSocket(port: server.port)
        invalidText.send(RawSocket.upgradeRequest())
        invalidText.send(RawSocket.clientFrame(opcode: 0x1, payload: [0xFF, 0xFE, 0xFD]))
        #expect(RawSocket.closeCode(in: invalidText.readToEnd()) == 1007)
        try await bystanders.stillServed(lobby)
    }

    @Test func healthAndMetricsAreServedOverHTTP() async throws {
        let server = try TestServer()
        let (health, response) = try await URLSession.shared.data(from: URL(string: "http://127.0.0.1:\(server.port)/healthz")!)
        #expect((response as? HTTPURLResponse)?.statusCode == 200)
        #expect(String(decoding: health, as: UTF8.self) == #"{"status":"ok"}"#)
        let (body, _) = try await URLSession.shared.data(from: URL(string: "http://127.0.0.1:\(server.port)/metrics")!)
        let metrics = String(decoding: body, as: UTF8.self)
        #expect(metrics.contains("# TYPE haven_connections gauge"))
        #expect(metrics.contains("haven_store_commits_total"))
    }
}

/// A full disk: writes fail, nothing unacknowledged is claimed, nothing acknowledged is lost.
@Suite struct FullDiskTests {
    let lobby = try! RoomID("lobby")

    @Test func whenTheDatabaseIsFullMessagesAreRefusedAndAcknowledgedOnesKept() async throws {
        let server = try TestServer {
            $0.store.maxDatabaseBytes = 300 * 1024
            $0.rateLimits = .unlimited
        }
        let loop = try ClientLoop()
        let alice = try TestClient("Quiet Otter", loop: loop.loop)
        try await alice.enter(server, room: lobby)
        var acknowledged: [String] = []
        var refusal: String?
        let filler = String(repeating: "x", count: 6000)
        for index in 0..<400 where refusal == nil {
            do {
                _ = try await alice.client.send("\(index) \(filler)", to: lobby)
                acknowledged.append("\(index) \(filler)")
            } catch ClientError.refused(let code, _) {
                refusal = code
            }
        }
        #expect(refusal == "store_failed", "a full database is reported, not hidden")
        #expect(!acknowledged.isEmpty)

        // The server keeps serving, and every acknowledged message is there to replay.
        let reader = try TestClient("Reader", loop: loop.loop)
        try await reader.enter(server, room: lobby, replayHistory: true)
        let texts = try await reader.waitForTexts(acknowledged.count, in: lobby)
        #expect(texts == acknowledged)
    }
}
