import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import HavenClient
import HavenNet
import HavenProtocol
import HavenServer
import HavenTestSupport
import Sodium
import Testing

/// Stored history reaches whoever asks for it, all of it, once, in order, at the pace they read,
/// whatever happens live meanwhile, and one network cannot keep the store replaying for it alone.
@Suite struct ReplayTests {
    let lobby = try! RoomID("lobby")

    @Test func aHistoryOfLargeMessagesReachesANewcomerInsteadOfCuttingThemOff() async throws {
        let server = try TestServer { $0.rateLimits = .unlimited }
        let loop = try ClientLoop()
                let flooder = try TestClient("Loud Crow", loop: loop.loop)
        try await flooder.enter(server, room: lobby)
        let large = String(repeating: "x", count: 16_000)
        for index in 0..<80 { _ = try await flooder.client.send("\(index) \(large)", to: lobby) }

        // 80 messages of 16 KB (22 KB as frames) are well past a client's 1 MiB send queue: the
        // replay paces itself.
        let newcomer = try TestClient("Quiet Otter", loop: loop.loop)
        try await newcomer.enter(server, room: lobby, replayHistory: true)
        #expect(try await newcomer.waitForTexts(80, in: lobby).count == 80)
        #expect(!newcomer.log.events.contains { if case .disconnected = $0 { true } else { false } })
    }

    @Test func aPileOfLargePrivateMessagesReachesItsRecipient() async throws {
        let server = try TestServer { $0.rateLimits = .unlimited }
        let loop = try ClientLoop()
        let (identity, away) = try await memberWhoLeft(server, loop: loop)
        let sender = try TestClient("Loud Crow", loop: loop.loop)
        try await sender.connect(server)
        let large = String(repeating: "y", count: 16_000)
        for index in 0..<80 { _ = try await sender.client.sendDirect("\(index) \(large)", to: away) }

        let back = try TestClient("Quiet Otter", loop: loop.loop, identity: identity)
        try await back.connect(server)
        #expect(try await back.waitForDirectTexts(80).count == 80)
        #expect(!back.log.events.contains { if case .disconnected = $0 { true } else { false } })
    }

    @Test func aRoomsHistoryAndAPileOfPrivateMessagesBothReachAMemberComingBack() async throws {
        let server = try TestServer { $0.rateLimits = .unlimited }
        let loop = try ClientLoop()
        let (identity, away) = try await memberWhoLeft(server, loop: loop)
        let writer = try TestClient("Loud Crow", loop: loop.loop)
        try await writer.enter(server, room: lobby)
        let large = String(repeating: "w", count: 16_000)
        for index in 0..<80 {
            _ = try await writer.client.send("room \(index) \(large)", to: lobby)
            _ = try await writer.client.sendDirect("private \(index) \(large)", to: away)
        }

        // Both replays pace themselves on the same connection at once; neither waits forever.
        let back = try TestClient("Quiet Otter", loop: loop.loop, identity: identity)
        try await back.enter(server, room: lobby, replayHistory: true)
        #expect(try await back.waitForDirectTexts(80).count == 80)
        #expect(try await back.waitForTexts(80, in: lobby).count == 80)
    }

    /// An identity that logged in once and left, so messages can be sent to it meanwhile.
    func memberWhoLeft(_ server: TestServer, loop: ClientLoop) async throws -> (SigningKeyPair, MemberID) {
        let identity = try SigningKeyPair.generate()
        let away = try TestClient("Quiet Otter", loop: loop.loop, identity: identity)
        try await away.connect(server)
        await away.client.disconnect()
        return (identity, away.member)
    }

    /// Sends `count` messages of about 16 KB (22 KB as frames) to the lobby.
    func flood(_ writer: TestClient, _ count: Int, from first: Int = 0) async throws {
        let large = String(repeating: "z", count: 16_000)
        for index in first..<(first + count) { _ = try await writer.client.send("\(index) \(large)", to: lobby) }
    }

    /// A server (unlimited rates, then `configure`), a client loop, and a writer who left 400
    /// messages of about 16 KB in the lobby: more than the kernel's socket buffers and a 1 MiB
    /// send queue hold together.
    func lobbyWithHistory(_ configure: @escaping (inout ServerConfiguration) -> Void = { _ in }) async throws
        -> (server: TestServer, loop: ClientLoop, writer: TestClient) {
        let server = try TestServer {
            $0.rateLimits = .unlimited
            configure(&$0)
        }
        let loop = try ClientLoop()
        let writer = try TestClient("Loud Crow", loop: loop.loop)
        try await writer.enter(server, room: lobby)
        try await flood(writer, 400)
        return (server, loop, writer)
    }

    /// A newcomer who asks for the lobby's whole history and stops reading as they join: their
    /// replay runs, waiting for them.
    func newcomerWhoStopsReading(_ server: TestServer, loop: ClientLoop) async throws -> RawWebSocket {
        let (newcomer, _) = try await RawWebSocket.loggedIn(to: server, loop: loop.loop)
        newcomer.send(#"{"v":1,"type":"join","room":"lobby","after":0}"#)
        newcomer.stopReading()
        try await waitFor("the newcomer's replay waiting for them to read") { () -> Bool? in
            try await Self.metrics(of: server).contains("haven_replays_waiting_for_clients 1\n") ? true : nil
        }
        return newcomer
    }

    static func metrics(of server: TestServer) async throws -> String {
        let (data, _) = try await URLSession.shared.data(from: URL(string: "http://127.0.0.1:\(server.port)/metrics")!)
        return String(decoding: data, as: UTF8.self)
    }

    /// Waits until `/metrics` counts these replays.
    func replays(running: Int, waiting: Int, on server: TestServer) async throws {
        try await waitFor("\(running) replays running and \(waiting) waiting") { () -> Bool? in
            let metrics = try await Self.metrics(of: server)
            return metrics.contains("haven_replays_running \(running)\n") && metrics.contains("haven_replays_waiting \(waiting)\n") ? true : nil
        }
    }

    /// The cursors of the room messages a raw socket received, in order.
    func cursors(_ socket: RawWebSocket) throws -> [UInt64] {
        try socket.frames.compactMap { text -> UInt64? in
            guard text.contains(#""type":"message""#), case .message(let delivery) = try FrameCodec.decode(Array(text.utf8)) else { return nil }
            return delivery.cursor
        }
    }

    @Test func aBusyRoomCannotCutOffANewcomerStillCatchingUp() async throws {
        let (server, loop, writer) = try await lobbyWithHistory()
        let newcomer = try await newcomerWhoStopsReading(server, loop: loop)
        // The room goes on while the newcomer's replay waits for them to read: another 2 MB of
        // live messages, which used to pile up behind the replay until they were cut off.
        try await flood(writer, 100, from: 400)
        newcomer.resumeReading()

        _ = try await newcomer.waitForFrame(containing: #""type":"synced""#, timeout: 60)
        #expect(newcomer.closeCode == nil, "the newcomer was disconnected")
        #expect(try cursors(newcomer) == Array(1...500), "every message once, in order")
        _ = try await writer.client.send("after the catch-up", to: lobby)
        _ = try await newcomer.waitForFrame(containing: "501")
    }

    @Test func aNewcomerWhoDoesNotReadHoldsNoTurnOfTheirNetwork() async throws {
        let (server, loop, _) = try await lobbyWithHistory { $0.rateLimits.addressReplaysAtOnce = 1 }
        // A newcomer who does not read waits for them to, and meanwhile holds no turn (the turns,
        // a few per network, limit what the store reads for one network at once: see
        // ReplayTurnsTests for the line)...
        let stalled = try await newcomerWhoStopsReading(server, loop: loop)
        try await replays(running: 0, waiting: 0, on: server)
        // ...so the next one from the same network gets all of the history at once.
        let (next, _) = try await RawWebSocket.loggedIn(to: server, loop: loop.loop)
        next.send(#"{"v":1,"type":"join","room":"lobby","after":0}"#)
        _ = try await next.waitForFrame(containing: #""type":"synced""#, timeout: 60)
        #expect(try cursors(next) == Array(1...400))
        #expect(stalled.closeCode == nil, "a client is let go only once it has not read for the stall time")
    }

    @Test func aNewcomerWhoStopsReadingTheirHistoryIsLetGo() async throws {
        let (server, loop, _) = try await lobbyWithHistory {
            $0.rateLimits.addressReplaysAtOnce = 1
            $0.rateLimits.replayStallSeconds = 1
        }
        // Reading nothing, yet sending nothing either: it would keep its history waiting in the
        // server's memory for as long as it kept its connection.
        let stalled = try await newcomerWhoStopsReading(server, loop: loop)
        try await waitFor("the newcomer let go") { () -> Bool? in
            try await Self.metrics(of: server).contains("haven_slow_consumers_disconnected_total 1\n") ? true : nil
        }
        stalled.resumeReading()
        #expect(try await stalled.waitForClose() == WebSocketCloseCode.slowConsumer.rawValue)
    }

    @Test func joiningLeavingAndJoiningAtOnceReplaysOnceAndFreesTheTurn() async throws {
        let (server, loop, _) = try await lobbyWithHistory { $0.rateLimits.addressReplaysAtOnce = 1 }
        let (client, _) = try await RawWebSocket.loggedIn(to: server, loop: loop.loop)
        // The first join's store work is still under way when the leave and the second join come.
        client.send(#"{"v":1,"type":"join","room":"lobby","after":0}"#)
        client.send(#"{"v":1,"type":"leave","room":"lobby"}"#)
        client.send(#"{"v":1,"type":"join","room":"lobby","after":0}"#)
        _ = try await client.waitForFrame(containing: #""type":"synced""#, timeout: 60)
        #expect(try cursors(client) == Array(1...400), "every message once, in order")
        try await replays(running: 0, waiting: 0, on: server)

        // The network's one turn came back: a neighbour's replay runs.
        let (neighbour, _) = try await RawWebSocket.loggedIn(to: server, loop: loop.loop)
        neighbour.send(#"{"v":1,"type":"join","room":"lobby","after":0}"#)
        _ = try await neighbour.waitForFrame(containing: #""type":"synced""#, timeout: 60)
        #expect(try cursors(neighbour) == Array(1...400))
    }

    @Test func aMemberComingBackToTwoBusyRoomsGetsBothHistoriesInsteadOfBeingCutOff() async throws {
        let (server, loop, writer) = try await lobbyWithHistory()
        let nightOwls = try RoomID("night-owls")
        _ = try await writer.client.join(nightOwls)
        await writer.client.waitForKey(nightOwls)
        let large = String(repeating: "n", count: 16_000)
        for index in 0..<400 { _ = try await writer.client.send("\(index) \(large)", to: nightOwls) }
        // Both replays start at once, as the widget's reconnect asks for them; each page used to
        // count on the same room in the send queue, and two together overflowed it (4001).
        let (member, _) = try await RawWebSocket.loggedIn(to: server, loop: loop.loop)
        member.send(#"{"v":1,"type":"join","room":"lobby","after":0}"# + "")
        member.send(#"{"v":1,"type":"join","room":"night-owls","after":0}"#)
        try await waitFor("both histories", timeout: 60) {
            member.frames.filter { $0.contains(#""type":"synced""#) }.count == 2 ? true : nil
        }
        #expect(member.closeCode == nil, "the member was cut off")
        #expect(try cursors(member).count == 800)
    }
}
