import Foundation
import HavenClient
import HavenNet
import HavenProtocol
import HavenServer
import HavenTestSupport
import Sodium
import Testing

/// Several event loops (issue 15): the kernel spreads connections over the loops, a room's
/// messages cross from the loop they arrive on to every other, and what a loop does for one
/// connection (holding back a slow reader, taking an upload) works the same on any loop.
@Suite struct MultiLoopTests {
    let lobby = try! RoomID("lobby")

    /// A raw client on loop `index`, logged in, in the lobby.
    private func member(onLoop index: Int, of server: TestServer, loop: EventLoop) async throws -> (RawWebSocket, SigningKeyPair) {
        let socket = try await server.connection(onLoop: index, { try await RawWebSocket.connect(port: server.port, loop: loop) }, discard: { $0.abort() })
        let identity = try await socket.logIn()
        try await socket.join(lobby)
        return (socket, identity)
    }

    /// Two readers on each of three loops, and two senders on two of them sending 100 messages
    /// each at once: every reader gets all 200, once each and in the room's order, every sender
    /// gets the other's, and the server counts each delivery once.
    @Test func aRoomSpreadOverThreeLoopsGetsEveryMessageOnceAndInOrder() async throws {
        let server = try TestServer {
            $0.loops = 3
            $0.rateLimits = .unlimited
        }
        let clients = try ClientLoop()
        let alice = try TestClient("Quiet Otter", loop: clients.loop)
        try await alice.enter(server, room: lobby)
        let key = try #require(await alice.client.currentKey(of: lobby))
        await alice.client.disconnect()
        var readers: [RawWebSocket] = []
        for index in 0..<3 {
            for _ in 0..<2 { readers.append(try await member(onLoop: index, of: server, loop: clients.loop).0) }
        }
        var senders: [(socket: RawWebSocket, ids: Set<MessageID>, frames: [String])] = []
        for index in [1, 2] {
            let (socket, identity) = try await member(onLoop: index, of: server, loop: clients.loop)
            var ids: Set<MessageID> = []
            let frames = try (0..<100).map { number in
                let envelope = try RoomEnvelope.seal(MessageBody(text: "\(index)-\(number)"), key: key, sender: identity)
                ids.insert(envelope.id)
                return String(decoding: FrameCodec.encode(.send(EnvelopeFrame(envelope: envelope))), as: UTF8.self)
            }
            senders.append((socket, ids, frames))
        }
        for sender in senders { sender.socket.send(sender.frames) }
        let everyID = senders[0].ids.union(senders[1].ids)
        for (number, reader) in readers.enumerated() {
            let messages = try await waitFor("reader \(number) to get all 200", timeout: 60) { () -> [EnvelopeFrame]? in
                let messages = reader.roomMessages
                return messages.count >= 200 ? messages : nil
            }
            let cursors = messages.compactMap(\.cursor)
            #expect(messages.count == 200 && Set(messages.map(\.envelope.id)) == everyID, "reader \(number): each message once")
            #expect(cursors == cursors.sorted() && Set(cursors).count == 200, "reader \(number): in the room's order")
        }
        for (mine, other) in [(0, 1), (1, 0)] {
            let received = try await waitFor("sender \(mine) to get the other's 100", timeout: 60) { () -> Set<MessageID>? in
                let ids = Set(senders[mine].socket.roomMessages.map(\.envelope.id))
                return ids.count >= 100 ? ids : nil
            }
            #expect(received == senders[other].ids, "a sender gets the other's messages and never its own")
        }
        let metrics = try server.server.metricsText()
        #expect(metrics.contains("\nhaven_deliveries_total 1400\n"), "6 readers × 200 + 2 senders × 100, each counted once")
        for index in 0..<3 { #expect(metrics.contains(#"haven_loop_connections{loop="\#(index)"} "#)) }
    }

    /// A reader that stops reading falls behind, wherever it is, and catches up from the store once
    /// it reads again: every acknowledged message once, in order, and it is not cut off.
    @Test(arguments: [0, 1]) func aSlowReaderOnAnyLoopFallsBehindAndCatchesUp(onLoop index: Int) async throws {
        let server = try TestServer {
            $0.network.maxQueuedBytes = 64 * 1024
            $0.rateLimits = .unlimited
        }
        let clients = try ClientLoop()
        let talker = try TestClient("Quiet Otter", loop: clients.loop)
        try await talker.enter(server, room: lobby)
        let (reader, _) = try await member(onLoop: index, of: server, loop: clients.loop)
        reader.stopReading()
        let text = String(repeating: "x", count: 12_000)
        var acknowledged: [UInt64] = []
        while try !server.server.metricsText().contains("haven_receivers_fell_behind_total 1") {
            try #require(acknowledged.count < 400, "the reader never fell behind")
            acknowledged.append(try await talker.client.send("\(acknowledged.count) \(text)", to: lobby))
        }
        for _ in 0..<20 { acknowledged.append(try await talker.client.send("\(acknowledged.count) \(text)", to: lobby)) }
        reader.resumeReading()
        let cursors = try await waitFor("the reader to catch up", timeout: 60) { () -> [UInt64]? in
            let cursors = reader.roomMessages.compactMap(\.cursor)
            return cursors.count >= acknowledged.count ? cursors : nil
        }
        #expect(cursors == acknowledged, "every acknowledged message once, in order")
        #expect(reader.closeCode == nil)
    }

    /// A stranger's long message sent in the same packet as the handshake is refused (1009)
    /// on every loop: the limit before login holds from the connection's first byte, not from
    /// when the core's word reaches the loop.
    @Test(arguments: [0, 1]) func aLongMessageSentWithTheHandshakeIsRefusedOnAnyLoop(onLoop index: Int) async throws {
        // The suite's other tests may keep this one's task waiting a while between placing its
        // connection and sending on it: the handshake's time is not what is tested here.
        let server = try TestServer { $0.network.handshakeTimeoutMilliseconds = 120_000 }
        let socket = try await server.connection(onLoop: index, { try RawSocket(port: server.port) }, discard: { $0.close() })
        // The frame's head says 100,000 bytes; only its first bytes follow, so the server has
        // read everything sent when it closes (unread bytes would make its close a reset, which
        // can lose the answer before the test reads it).
        let frame = RawSocket.clientFrame(opcode: 1, payload: Array(repeating: 0x61, count: 100_000))
        socket.send(Array(RawSocket.upgradeRequest().utf8) + frame.prefix(1_000))
        let answer = await onOwnThread { socket.readToEnd() }
        #expect(RawSocket.closeCode(in: answer) == WebSocketCloseCode.messageTooBig.rawValue, "\(answer.count) bytes: \(String(decoding: answer.prefix(60), as: UTF8.self))")
        #expect(try server.server.metricsText().contains("\nhaven_protocol_errors_total 0\n"), "the message was never read as a frame")
    }

    /// A stranger refused before login (here, for a frame other than `auth`) is not heard any
    /// more: the 2,000 frames it sends after are dropped unread, on every loop, instead of each
    /// costing the core a signature check until the close times out.
    @Test(arguments: [0, 1]) func aRefusedStrangerIsNotHeardAnyMore(onLoop index: Int) async throws {
        let server = try TestServer()
        let clients = try ClientLoop()
        let stranger = try await server.connection(
            onLoop: index, { try await RawWebSocket.connect(port: server.port, loop: clients.loop) }, discard: { $0.abort() })
        let challenge = try await stranger.challenge()
        let forged = String(decoding: FrameCodec.encode(.auth(challenge.respond(identity: try SigningKeyPair.generate(), displayName: "Raw"))), as: UTF8.self)
            .replacingOccurrences(of: #""signature":""#, with: #""signature":"AAAA"#)
        stranger.send([#"{"v":1,"type":"listRooms"}"#] + Array(repeating: forged, count: 2_000))
        #expect(try await stranger.waitForClose() == WebSocketCloseCode.authenticationFailed.rawValue)
        #expect(try server.server.metricsText().contains("\nhaven_protocol_errors_total 1\n"), "only the first frame was handled")
    }

    /// An upload taken on one loop (its parts go to the core's store as they come, and the core
    /// holds the body back while the store is behind) comes back whole from the other.
    @Test(arguments: [0, 1]) func anAttachmentUploadedOnOneLoopDownloadsWholeFromTheOther(uploadLoop: Int) async throws {
        let server = try TestServer()
        let clients = try ClientLoop()
        let alice = try TestClient("Quiet Otter", loop: clients.loop)
        try await alice.connect(server)
        let body = (0..<3_000_000).map { UInt8(truncatingIfNeeded: $0 &* 2_654_435_761 >> 13) }
        let uploadToken = Base64URL.encode(try await alice.client.uploadToken().token.bytes)
        let uploader = try await server.connection(onLoop: uploadLoop, { try RawSocket(port: server.port) }, discard: { $0.close() })
        uploader.send("POST /v1/blobs HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer \(uploadToken)\r\nContent-Length: \(body.count)\r\nConnection: close\r\n\r\n")
        uploader.send(body)
        let answer = String(decoding: uploader.readToEnd(), as: UTF8.self)
        #expect(answer.hasPrefix("HTTP/1.1 201"), "\(answer.prefix(60))")
        let blob = try #require(answer.split(separator: "\"").drop { $0 != "blob" }.dropFirst(2).first.map(String.init))

        let fetchToken = Base64URL.encode(try await alice.client.uploadToken().token.bytes)
        let downloader = try await server.connection(onLoop: 1 - uploadLoop, { try RawSocket(port: server.port) }, discard: { $0.close() })
        downloader.send("GET /v1/blobs/\(blob) HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer \(fetchToken)\r\nConnection: close\r\n\r\n")
        let response = downloader.readToEnd()
        let headEnd = try #require(response.firstRange(of: Array("\r\n\r\n".utf8)))
        #expect(String(decoding: response[..<headEnd.lowerBound], as: UTF8.self).hasPrefix("HTTP/1.1 200"))
        #expect(Array(response[headEnd.upperBound...]) == body, "the attachment comes back byte for byte")
    }
}

/// Listeners of several loops share their port (SO_REUSEPORT) with each other only.
@Suite struct SharedPortTests {
    /// A second server started by mistake on a port a first one holds fails to start, as it would
    /// with one loop, instead of quietly taking a share of the first one's connections.
    @Test func aSecondServerOnTheSamePortFailsToStartInsteadOfSharingIt() throws {
        let first = try TestServer { $0.loops = 2 }
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("haven-test-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let error = #expect(throws: UVError.self) {
            _ = try TestServer(directory: folder) {
                $0.loops = 2
                $0.network.port = first.port
            }
        }
        #expect(error?.code == -EADDRINUSE)
    }

    /// A server that stopped with connections open starts again on its port at once: the
    /// connections it closed, waiting out TIME_WAIT on the port, are no second server. (Kept-alive
    /// HTTP connections, answered and read, so the server's side closes first.)
    @Test func aServerStartsAgainOnItsPortAtOnceAfterStoppingWithConnectionsOpen() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("haven-test-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let first = try TestServer(directory: folder + "/first") { $0.loops = 2 }
        let sockets = try (0..<4).map { _ in try RawSocket(port: first.port) }
        for socket in sockets {
            socket.send("GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: keep-alive\r\n\r\n")
            _ = socket.read(upTo: 4096)
        }
        first.stop()
        for socket in sockets { _ = socket.readToEnd() }
        let again = try TestServer(directory: folder + "/again") {
            $0.loops = 2
            $0.network.port = first.port
        }
        #expect(again.port == first.port)
    }
}
