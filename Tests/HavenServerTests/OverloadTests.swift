import Foundation
import HavenClient
import HavenNet
import HavenProtocol
import HavenServer
import HavenTestSupport
import Testing

/// Graceful overload (issue 15): past what its readers take or its store commits, the server
/// slows down, and cuts off only a client that stops reading altogether.
@Suite struct OverloadTests {
    let lobby = try! RoomID("lobby")

    /// Senders flood a room faster than three of its readers read (each reads in short bursts
    /// between long pauses). Those readers fall behind and catch up from the store: none is cut
    /// off, and each gets every acknowledged message once, in order.
    @Test func slowReadersInAFloodedRoomFallBehindAndCatchUpInsteadOfBeingCutOff() async throws {
        let server = try TestServer {
            $0.network.maxQueuedBytes = 64 * 1024
            $0.rateLimits = .unlimited
        }
        let clients = try ClientLoop()
        let senders = try ["Quiet Otter", "Calm Heron", "Still Pond"].map { try TestClient($0, loop: clients.loop) }
        for sender in senders { try await sender.enter(server, room: lobby) }
        var readers: [RawWebSocket] = []
        for _ in 0..<3 { readers.append(try await RawWebSocket.joined(lobby, on: server, loop: clients.loop).0) }
        let slowReading = Task {
            while !Task.isCancelled {
                readers.forEach { $0.stopReading() }
                try? await Task.sleep(for: .milliseconds(300))
                readers.forEach { $0.resumeReading() }
                try? await Task.sleep(for: .milliseconds(20))
            }
        }
        // 3 × 150 messages of 12 KB: megabytes more than the kernel's buffers and the server's
        // 64 KB queues hold for a reader that reads a fifteenth of the time.
        let text = String(repeating: "x", count: 12_000)
        let acknowledged = try await withThrowingTaskGroup(of: [UInt64].self) { group in
            for (index, sender) in senders.enumerated() {
                group.addTask {
                    var cursors: [UInt64] = []
                    for number in 0..<150 { cursors.append(try await sender.client.send("\(index)-\(number) \(text)", to: lobby)) }
                    return cursors
                }
            }
            return try await group.reduce(into: []) { $0 += $1 }.sorted()
        }
        slowReading.cancel()
        readers.forEach { $0.resumeReading() }
        let metrics = try server.server.metricsText()
        #expect(!metrics.contains("haven_receivers_fell_behind_total 0"), "the readers never fell behind: the flood was not one")
        for (index, reader) in readers.enumerated() {
            let cursors = try await Self.roomCursors(of: reader, count: acknowledged.count)
            #expect(cursors.count == acknowledged.count && cursors == acknowledged,
                    "reader \(index) got \(cursors.count) of \(acknowledged.count) (they must come in order, once each)")
            #expect(reader.closeCode == nil, "reader \(index) was cut off with \(String(describing: reader.closeCode))")
        }
        let after = try server.server.metricsText().split(separator: "\n").filter { !$0.hasPrefix("#") }
        #expect(after.contains("haven_slow_consumers_disconnected_total 0"), "\(after.filter { $0.contains("slow") || $0.contains("behind") || $0.contains("replay") })")
    }

    /// Clients that never read cannot keep a member from their own network (one address: a
    /// carrier's NAT, a Tor exit) waiting for a catch-up: a replay waiting for its client to read
    /// gives its turn up meanwhile.
    @Test func clientsThatNeverReadDoNotHoldUpAnotherMembersCatchUp() async throws {
        let server = try TestServer {
            $0.network.maxQueuedBytes = 64 * 1024
            $0.rateLimits = .unlimited
            $0.rateLimits.addressReplaysAtOnce = 4
        }
        let clients = try ClientLoop()
        let talker = try TestClient("Quiet Otter", loop: clients.loop)
        try await talker.enter(server, room: lobby)
        let (reader, _) = try await RawWebSocket.joined(lobby, on: server, loop: clients.loop)
        let text = String(repeating: "x", count: 12_000)
        for number in 0..<40 { _ = try await talker.client.send("history \(number) \(text)", to: lobby) }
        // Six clients join with the whole history to replay and never read it: their replays wait.
        let join = String(decoding: FrameCodec.encode(.join(JoinRequest(room: lobby, after: 0))), as: UTF8.self)
        for _ in 0..<6 {
            let (hog, _) = try await RawWebSocket.loggedIn(to: server, loop: clients.loop)
            hog.stopReading()
            hog.send(join)
        }
        // The reader looks away while more arrives, and falls behind.
        reader.stopReading()
        var sent = 40
        while try !server.server.metricsText().contains("haven_receivers_fell_behind_total 1") {
            try #require(sent < 400, "the reader never fell behind")
            sent += 1
            _ = try await talker.client.send("live \(sent) \(text)", to: lobby)
        }
        reader.resumeReading()
        // Well before the 30 s after which the hogs are let go, it has caught up.
        let deadline = Date().addingTimeInterval(10)
        while Self.roomMessageIDs(of: reader).count < sent {
            try #require(Date() < deadline, "the reader's catch-up waited behind clients that never read: \(Self.roomMessageIDs(of: reader).count) of \(sent)")
            try await Task.sleep(for: .milliseconds(50))
        }
        #expect(reader.closeCode == nil)
    }

    /// While the store has more waiting than it may, messages are refused as `rate_limited` with
    /// a retry hint, and no strike: the sender sends them again after the hint and every one is
    /// stored and delivered once.
    @Test func aBusyStoreSlowsSendersWithARetryHintAndLosesNothing() async throws {
        let server = try TestServer {
            $0.rateLimits = .unlimited
            $0.maxStoreBacklog = 4
        }
        let clients = try ClientLoop()
        let alice = try TestClient("Quiet Otter", loop: clients.loop)
        try await alice.enter(server, room: lobby)
        let key = try #require(await alice.client.currentKey(of: lobby))
        let (reader, _) = try await RawWebSocket.joined(lobby, on: server, loop: clients.loop)
        let (sender, identity) = try await RawWebSocket.joined(lobby, on: server, loop: clients.loop)
        var frames: [MessageID: String] = [:]
        for number in 0..<40 {
            let envelope = try RoomEnvelope.seal(MessageBody(text: "message \(number)"), key: key, sender: identity)
            frames[envelope.id] = String(decoding: FrameCodec.encode(.send(EnvelopeFrame(envelope: envelope))), as: UTF8.self)
        }
        var unsent = Set(frames.keys)
        var refusals: [ErrorFrame] = []
        let deadline = Date().addingTimeInterval(30)
        while !unsent.isEmpty {
            try #require(Date() < deadline, "\(unsent.count) messages were never taken")
            // All at once, so the server reads them together: more than the store may have waiting.
            sender.send(unsent.map { frames[$0]! })
            // Each message is either stored (the reader gets it) or refused; the refused go again after the hint.
            let round = try await Self.answers(to: unsent, sender: sender, reader: reader, refusalsBefore: refusals.count)
            refusals += round
            unsent = Set(round.compactMap(\.id)).subtracting(Self.roomMessageIDs(of: reader))
            if let wait = round.compactMap(\.retryAfterMs).max() { try await Task.sleep(for: .milliseconds(wait)) }
        }
        #expect(!refusals.isEmpty, "the store was never busy: the test did not test anything")
        #expect(Set(refusals.map(\.retryAfterMs)) == [250], "every busy refusal says when to send again")
        let delivered = reader.frames.compactMap { text -> MessageID? in
            guard case .message(let frame)? = try? FrameCodec.decode(Array(text.utf8)) else { return nil }
            return frame.envelope.id
        }
        #expect(delivered.count == 40 && Set(delivered) == Set(frames.keys), "every message delivered once")
        #expect(try server.count("SELECT COUNT(*) FROM room_messages") == 40)
        #expect(sender.closeCode == nil, "refusals while busy are not strikes")
    }

    /// Senders faster than the store are held back by not being read: three of them send 100
    /// messages of 12 KB each at once. A connection with 2 messages waiting for the store is not
    /// read until one is answered, and is read again after: nothing is refused (the store never
    /// has more than its 40 operations waiting), lost or cut off, and every message is stored and
    /// delivered. So it goes whether the senders are on the core's loop, where the core stops
    /// reading them itself, or on another, which stops reading a sender with 2 messages on their
    /// way to the core until the core has them.
    @Test(arguments: [0, 1]) func aSenderWithMessagesWaitingIsReadAgainOnceTheStoreAnswers(sendersOnLoop loopIndex: Int) async throws {
        let server = try TestServer {
            $0.rateLimits = .unlimited
            $0.maxStoreBacklog = 40
            $0.messagesAwaitingStorePerConnection = 2
        }
        let clients = try ClientLoop()
        let alice = try TestClient("Quiet Otter", loop: clients.loop)
        try await alice.enter(server, room: lobby)
        let key = try #require(await alice.client.currentKey(of: lobby))
        let (reader, _) = try await RawWebSocket.joined(lobby, on: server, loop: clients.loop)
        var sent: Set<MessageID> = []
        var senders: [RawWebSocket] = []
        for _ in 0..<3 {
            let sender = try await server.connection(
                onLoop: loopIndex, { try await RawWebSocket.connect(port: server.port, loop: clients.loop) }, discard: { $0.abort() })
            let identity = try await sender.logIn()
            try await sender.join(lobby)
            let frames = try (0..<100).map { number in
                let envelope = try RoomEnvelope.seal(MessageBody(text: "\(number) " + String(repeating: "x", count: 12_000)), key: key, sender: identity)
                sent.insert(envelope.id)
                return String(decoding: FrameCodec.encode(.send(EnvelopeFrame(envelope: envelope))), as: UTF8.self)
            }
            senders.append(sender)
            sender.send(frames)
        }
        let expected = sent
        try await waitFor("every message delivered", timeout: 60) { Self.roomMessageIDs(of: reader) == expected ? true : nil }
        for sender in senders {
            #expect(!sender.frames.contains { $0.contains(#""type":"error""#) }, "nothing was refused")
            #expect(sender.closeCode == nil)
        }
        #expect(try server.count("SELECT COUNT(*) FROM room_messages") == 300)
        #expect(try !server.server.metricsText().contains("haven_reads_paused_total 0"), "no sender was held back: the test tested nothing")
    }

    /// Waits until each of `ids` was refused (after the first `refusalsBefore` refusals) or
    /// delivered to `reader`, and returns the new refusals.
    private static func answers(to ids: Set<MessageID>, sender: RawWebSocket, reader: RawWebSocket, refusalsBefore: Int) async throws -> [ErrorFrame] {
        let deadline = Date().addingTimeInterval(30)
        while true {
            let refused = sender.frames.compactMap { text -> ErrorFrame? in
                guard case .error(let error)? = try? FrameCodec.decode(Array(text.utf8)), error.code == "rate_limited" else { return nil }
                return error
            }.dropFirst(refusalsBefore)
            let delivered = roomMessageIDs(of: reader)
            if ids.allSatisfy({ id in refused.contains { $0.id == id } || delivered.contains(id) }) { return Array(refused) }
            try #require(Date() < deadline, "no answer for some of the messages sent")
            try await Task.sleep(for: .milliseconds(20))
        }
    }

    /// A sender past its rate limit is told, with each refusal, how long until it may send again.
    @Test func aSenderPastItsRateLimitIsToldWhenToSendAgain() async throws {
        let server = try TestServer()
        let clients = try ClientLoop()
        let alice = try TestClient("Quiet Otter", loop: clients.loop)
        try await alice.enter(server, room: lobby)
        let key = try #require(await alice.client.currentKey(of: lobby))
        let (sender, identity) = try await RawWebSocket.joined(lobby, on: server, loop: clients.loop)
        // A new identity may send 8 at once, then one a second.
        sender.send(try (0..<20).map { number in
            let envelope = try RoomEnvelope.seal(MessageBody(text: "hurry \(number)"), key: key, sender: identity)
            return String(decoding: FrameCodec.encode(.send(EnvelopeFrame(envelope: envelope))), as: UTF8.self)
        })
        let deadline = Date().addingTimeInterval(30)
        var refusals: [ErrorFrame] = []
        while refusals.count < 12 {
            try #require(Date() < deadline, "only \(refusals.count) refusals came")
            refusals = sender.frames.compactMap { text -> ErrorFrame? in
                guard case .error(let error)? = try? FrameCodec.decode(Array(text.utf8)), error.code == "rate_limited" else { return nil }
                return error
            }
            try await Task.sleep(for: .milliseconds(20))
        }
        #expect(refusals.allSatisfy { ($0.retryAfterMs ?? 0) > 0 && ($0.retryAfterMs ?? .max) <= 1_000 },
                "\(refusals.map(\.retryAfterMs))")
    }

    /// The ids of the room messages `reader` has received.
    private static func roomMessageIDs(of reader: RawWebSocket) -> Set<MessageID> {
        Set(reader.roomMessages.map(\.envelope.id))
    }

    /// Waits until `reader` has `count` room messages and returns their cursors as received.
    private static func roomCursors(of reader: RawWebSocket, count: Int) async throws -> [UInt64] {
        let deadline = Date().addingTimeInterval(60)
        while true {
            let cursors = reader.roomMessages.compactMap(\.cursor)
            if cursors.count >= count || Date() > deadline { return cursors }
            try await Task.sleep(for: .milliseconds(50))
        }
    }
}
