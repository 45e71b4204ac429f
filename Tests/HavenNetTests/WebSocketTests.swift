import Foundation
import HavenNet
import HavenTestSupport
import Testing

@Suite struct WebSocketTests {
    @Test func clientAndServerExchangeTextMessages() async throws {
        let server = try EchoServer()
        defer { server.stop() }
        let received = try await echo(["first", "second", String(repeating: "é", count: 40_000)], port: server.port)
        #expect(received == ["first", "second", String(repeating: "é", count: 40_000)])
    }

    func echo(_ messages: [String], port: Int) async throws -> [String] {
        let loop = try EventLoop()
        loop.start()
        defer { loop.shutdown() }
        return try await withCheckedThrowingContinuation { continuation in
            loop.execute {
                var replies: [String] = []
                WebSocketClientConnection.connect(loop: loop, host: "127.0.0.1", port: port, origin: "https://provider.example") { result in
                    switch result {
                    case .failure(let error):
                        continuation.resume(throwing: error)
                    case .success(let connection):
                        connection.onText = { text in
                            replies.append(String(decoding: text, as: UTF8.self))
                            if replies.count == messages.count {
                                connection.close()
                                continuation.resume(returning: replies)
                            }
                        }
                        for message in messages { connection.send(text: Array(message.utf8)) }
                    }
                }
            }
        }
    }

    func exchange(_ bytes: [UInt8], origin: String? = "https://provider.example", configure: (inout WebSocketServerConfiguration) -> Void = { _ in }) throws -> [UInt8] {
        let server = try EchoServer(configure: configure)
        defer { server.stop() }
        let socket = try RawSocket(port: server.port)
        socket.send(RawSocket.upgradeRequest(origin: origin))
        socket.send(bytes)
        return socket.readToEnd()
    }

    @Test func upgradeAnswersWithTheRFC6455AcceptValue() throws {
        let reply = String(decoding: try exchange(RawSocket.clientFrame(opcode: 0x8, payload: [0x03, 0xE8])), as: UTF8.self)
        #expect(reply.hasPrefix("HTTP/1.1 101 Switching Protocols"))
        // The example key and accept value from RFC 6455 §1.3.
        #expect(reply.contains("Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo="))
    }

    @Test func foreignOriginIsRefusedWith403() throws {
        let reply = String(decoding: try exchange([], origin: "https://evil.example"), as: UTF8.self)
        #expect(reply.hasPrefix("HTTP/1.1 403"))
        #expect(reply.contains("origin_not_allowed"))
    }

    @Test func theServersOwnOriginIsAllowed() throws {
        let server = try EchoServer()
        defer { server.stop() }
        let socket = try RawSocket(port: server.port)
        socket.send(RawSocket.upgradeRequest(origin: "http://127.0.0.1"))
        socket.send(RawSocket.clientFrame(opcode: 0x8, payload: [0x03, 0xE8]))
        #expect(String(decoding: socket.readToEnd(), as: UTF8.self).hasPrefix("HTTP/1.1 101"))
    }

    @Test func wrongVersionIsRefusedWith426() throws {
        let server = try EchoServer()
        defer { server.stop() }
        let socket = try RawSocket(port: server.port)
        socket.send(RawSocket.upgradeRequest(version: "8"))
        let reply = String(decoding: socket.readToEnd(), as: UTF8.self)
        #expect(reply.hasPrefix("HTTP/1.1 426"))
        #expect(reply.contains("Sec-WebSocket-Version: 13"))
    }

    @Test func invalidUTF8IsClosedWith1007() throws {
        let reply = try exchange(RawSocket.clientFrame(opcode: 0x1, payload: [0xC3, 0x28]))
        #expect(RawSocket.closeCode(in: reply) == 1007)
    }

    @Test func binaryMessageIsClosedWith1003AndTheServerHangsUpWhenTheCloseIsNotAnswered() throws {
        let server = try EchoServer { $0.closeTimeoutMilliseconds = 500 }
        defer { server.stop() }
        let socket = try RawSocket(port: server.port)
        socket.send(RawSocket.upgradeRequest(origin: "https://provider.example"))
        socket.send(RawSocket.clientFrame(opcode: 0x2, payload: [1, 2, 3]))
        let reply = try #require(socket.readUntilPeerCloses(), "the server kept the connection after its close went unanswered")
        #expect(RawSocket.closeCode(in: reply) == 1003)
    }

    @Test func oversizedMessageIsClosedWith1009() throws {
        let reply = try exchange(RawSocket.clientFrame(opcode: 0x1, payload: [UInt8](repeating: 0x61, count: 2000))) {
            $0.maxMessageBytes = 1000
        }
        #expect(RawSocket.closeCode(in: reply) == 1009)
    }

    @Test func fragmentedMessageIsReassembled() throws {
        let server = try EchoServer()
        defer { server.stop() }
        let socket = try RawSocket(port: server.port)
        socket.send(RawSocket.upgradeRequest())
        socket.send(RawSocket.clientFrame(opcode: 0x1, payload: Array("hel".utf8), fin: false)
            + RawSocket.clientFrame(opcode: 0x9, payload: [])
            + RawSocket.clientFrame(opcode: 0x0, payload: Array("lo".utf8), fin: true))
        let reply = socket.read(atLeast: 129 + 2 + 7)
        #expect(reply.firstRange(of: [0x81, 0x05] + Array("hello".utf8)) != nil)
        #expect(reply.firstRange(of: [0x8A, 0x00]) != nil, "ping answered with pong")
    }

    @Test func unmaskedClientFrameIsAProtocolError() throws {
        let reply = try exchange([0x81, 0x02] + Array("hi".utf8))
        #expect(RawSocket.closeCode(in: reply) == 1002)
    }

    @Test func pingLongerThanAControlFrameMayBeIsClosedWith1002() throws {
        let reply = try exchange(RawSocket.clientFrame(opcode: 0x9, payload: [UInt8](repeating: 0x61, count: 126)))
        #expect(RawSocket.closeCode(in: reply) == 1002)
    }

    @Test func pongsToAClientThatNeverReadsCountAgainstItsSendQueue() throws {
        let server = try EchoServer { $0.maxQueuedBytes = 64 * 1024 }
        defer { server.stop() }
        let socket = try RawSocket(port: server.port)
        socket.shrinkReceiveBuffer()
        socket.send(RawSocket.upgradeRequest())
        let ping = RawSocket.clientFrame(opcode: 0x9, payload: [UInt8](repeating: 0x61, count: 125))
        let batches = 40
        for _ in 0..<batches { socket.send(Array([[UInt8]](repeating: ping, count: 1000).joined())) }
        let everything = socket.readToEnd()
        // 40,000 pings ask for 5 MB of pongs; the server queued about its limit and hung up.
        #expect(everything.count < batches * 1000 * 127 / 4, "the server kept answering a peer that does not read")
    }

    @Test func readerThatStopsReadingIsDisconnectedAsASlowConsumer() throws {
        let server = try EchoServer { $0.maxQueuedBytes = 256 * 1024 }
        defer { server.stop() }
        let socket = try RawSocket(port: server.port)
        socket.shrinkReceiveBuffer()
        socket.send(RawSocket.upgradeRequest())
        socket.send(RawSocket.clientFrame(opcode: 0x1, payload: Array("flood".utf8)))
        Thread.sleep(forTimeInterval: 0.5)
        let everything = socket.readToEnd()
        // The server stopped well short of the 60 MB it tried to send and closed the socket.
        #expect(everything.count < 8 * 1024 * 1024)
    }

    /// Connects a raw socket, upgrades it, and returns what came after the 101 response.
    func upgradedSocket(port: Int) throws -> (RawSocket, [UInt8]) {
        let socket = try RawSocket(port: port)
        socket.send(RawSocket.upgradeRequest())
        var received: [UInt8] = []
        let end = Array("\r\n\r\n".utf8)
        try read(socket, into: &received, until: end)
        received.removeSubrange(..<received.firstRange(of: end)!.upperBound)
        return (socket, received)
    }

    /// Reads into `received` until it holds `bytes`; fails if the socket closes or goes quiet first.
    func read(_ socket: RawSocket, into received: inout [UInt8], until bytes: [UInt8]) throws {
        while received.firstRange(of: bytes) == nil {
            let more = socket.read(upTo: 65_536)
            guard !more.isEmpty else { throw TimedOut(what: "\(bytes.count) bytes the server should have sent") }
            received += more
        }
    }

    /// Reads echoes into `received` (skipping the server's pings) until it holds `count` bytes.
    func readEcho(_ socket: RawSocket, into received: inout [UInt8], count: Int) {
        let ping = RawSocket.serverFrame(opcode: 0x9, payload: [])
        repeat {
            if received.count < count { received += socket.read(atLeast: count - received.count) }
            if received.starts(with: ping) { received.removeFirst(ping.count) }
        } while received.count < count && !received.isEmpty
    }

    /// An idle session holds no wslay context (two 4 KiB buffers) and one in the middle of a frame
    /// keeps it: each message is cut at a different place (header, length and mask bytes), and
    /// every other one carries the next frame's first bytes, which wslay reads ahead. Every
    /// message must come back whole.
    @Test func anIdleSessionHoldsNoFramingContextAndAPartReadFrameKeepsIt() async throws {
        let server = try EchoServer()
        defer { server.stop() }
        var (socket, received) = try upgradedSocket(port: server.port)
        try await waitFor("no context after the handshake") { try server.framingContexts() == 0 ? true : nil }
        let sizes = [0, 1, 125, 126, 1_000, 65_535, 65_536, 100_000]
        let messages = sizes.enumerated().map { index, size in (0..<size).map { UInt8(0x61 + ($0 + index) % 26) } }
        let frames = messages.map { RawSocket.clientFrame(opcode: 0x1, payload: $0) }
        let cuts = [1, 2, 3, 5, 7, 9, 13, 4]
        var alreadySent = 0
        for (index, frame) in frames.enumerated() {
            let cut = min(max(cuts[index], alreadySent + 1), frame.count - 1)
            socket.send(Array(frame[alreadySent..<cut]))
            try await waitFor("message \(index), part-read, to hold a context") { try server.framingContexts() == 1 ? true : nil }
            alreadySent = index % 2 == 0 && index + 1 < frames.count ? 3 : 0
            socket.send(Array(frame[cut...]) + (alreadySent > 0 ? Array(frames[index + 1].prefix(alreadySent)) : []))
            let echo = RawSocket.serverFrame(opcode: 0x1, payload: messages[index])
            readEcho(socket, into: &received, count: echo.count)
            #expect(Array(received.prefix(echo.count)) == echo, "message \(index) of \(messages[index].count) bytes echoed whole")
            received.removeFirst(min(echo.count, received.count))
            let held = alreadySent > 0 ? 1 : 0
            try await waitFor("\(held) context after message \(index)") { try server.framingContexts() == held ? true : nil }
        }
    }

    /// A fragmented message keeps the context between its frames, a ping in between included,
    /// and lets it go once the last fragment is in.
    @Test func aFragmentedMessageKeepsItsContextUntilItsLastFrame() async throws {
        let server = try EchoServer()
        defer { server.stop() }
        var (socket, received) = try upgradedSocket(port: server.port)
        socket.send(RawSocket.clientFrame(opcode: 0x1, payload: Array("hel".utf8), fin: false))
        try await waitFor("the first fragment to hold a context") { try server.framingContexts() == 1 ? true : nil }
        socket.send(RawSocket.clientFrame(opcode: 0x9, payload: Array("are you there".utf8)))
        try read(socket, into: &received, until: RawSocket.serverFrame(opcode: 0xA, payload: Array("are you there".utf8)))
        #expect(try server.framingContexts() == 1, "the message is still open after the ping was answered")
        socket.send(RawSocket.clientFrame(opcode: 0x0, payload: Array("lo".utf8), fin: true))
        try read(socket, into: &received, until: RawSocket.serverFrame(opcode: 0x1, payload: Array("hello".utf8)))
        try await waitFor("the context to go after the last fragment") { try server.framingContexts() == 0 ? true : nil }
    }

    /// However a connection ends (the peer hangs up idle or in the middle of a message, the close
    /// handshake, a protocol error), its session is freed, and with it wslay's context and any
    /// message part-read in it: nothing about a closed connection stays in memory.
    @Test func aClosedConnectionLeavesNoSessionOrContextBehind() async throws {
        let server = try EchoServer()
        defer { server.stop() }
        let idle = try upgradedSocket(port: server.port).0
        let midMessage = try upgradedSocket(port: server.port).0
        midMessage.send(Array(RawSocket.clientFrame(opcode: 0x1, payload: [UInt8](repeating: 0x61, count: 100_000)).prefix(50_000)))
        let closing = try upgradedSocket(port: server.port).0
        let broken = try upgradedSocket(port: server.port).0
        try await waitFor("the part-read message to hold a context") { try server.framingContexts() == 1 ? true : nil }
        #expect(try server.sessionsAlive() == 4)
        closing.send(RawSocket.clientFrame(opcode: 0x8, payload: [0x03, 0xE8]))
        broken.send([0x81, 0x02] + Array("hi".utf8))
        #expect(RawSocket.closeCode(in: Array("HTTP/1.1 101\r\n\r\n".utf8) + broken.readToEnd()) == 1002)
        _ = closing.readToEnd()
        idle.close()
        midMessage.close()
        try await waitFor("every session freed") { try server.sessionsAlive() == 0 ? true : nil }
        #expect(try server.framingContexts() == 0)
    }

    /// A message that takes too long to arrive and comes slower than the floor (a peer trickling
    /// a large one, holding the server's memory) is closed with 1008; one coming slowly but
    /// above the floor (a long message over a very poor link) arrives; a connection between
    /// messages is left alone.
    @Test func aMessageTricklingBelowTheFloorIsClosedWith1008ButASlowOneArrives() async throws {
        let server = try EchoServer {
            $0.messageTimeoutMilliseconds = 300
            $0.minMessageBytesPerSecond = 50
        }
        defer { server.stop() }
        let (trickler, _) = try upgradedSocket(port: server.port)
        var (slow, received) = try upgradedSocket(port: server.port)
        trickler.send(Array(RawSocket.clientFrame(opcode: 0x1, payload: [UInt8](repeating: 0x61, count: 100_000)).prefix(100)))
        let message = [UInt8](repeating: 0x62, count: 8_000)
        let frame = RawSocket.clientFrame(opcode: 0x1, payload: message)
        // About 5,000 bytes a second for about 1.6 s: well past the time, a hundred times the
        // floor, so a machine busy with other tests cannot slow it below (paced on a thread of
        // its own, not the tests' shared pool).
        let sender = slow
        await onOwnThread {
            for start in stride(from: 0, to: frame.count, by: 500) {
                sender.send(Array(frame[start..<min(start + 500, frame.count)]))
                Thread.sleep(forTimeInterval: 0.1)
            }
        }
        try read(slow, into: &received, until: RawSocket.serverFrame(opcode: 0x1, payload: message))
        #expect(RawSocket.closeCode(in: Array("HTTP/1.1 101\r\n\r\n".utf8) + trickler.readToEnd()) == 1008)
        try await waitFor("the trickler's context to go") { try server.framingContexts() == 0 ? true : nil }
    }
}
