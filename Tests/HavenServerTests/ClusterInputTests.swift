import Foundation
import HavenClient
import HavenProtocol
@testable import HavenServer
import HavenStore
import HavenTestSupport
import Redis
import Sodium
import Testing

/// What a node does with news on Redis that no node of Haven's would send: it ignores it, and
/// goes on serving.
@Suite struct ClusterInputTests {
    @Test func newsNoNodeWouldSendIsIgnoredAndTheNodeGoesOnServing() async throws {
        let redis = try TestRedis()
        let database = try freshStoreLocation(.postgres, folder: "")
        let server = try TestServer {
            $0.database = database
            $0.cluster = ClusterSettings(redis: redis.address)
            $0.rateLimits.newIdentityMessageBytesPerHour = 1_000_000
        }
        let lobby = try RoomID("lobby")
        let clients = try ClientLoop()
        let alice = try TestClient("Quiet Otter", loop: clients.loop)
        let bob = try TestClient("Calm Heron", loop: clients.loop)
        try await alice.enter(server, room: lobby)
        try await bob.enter(server, room: lobby)
        let stranger = Array(repeating: UInt8(9), count: 16)
        let news = { (kind: NodeMessage.Kind, key: [UInt8], frame: [UInt8]) in
            NodeMessage(kind: kind, node: stranger, cursor: 0, previous: 0, key: key, frame: frame)
        }
        let forged = ModerationAction.sign(.ban, target: alice.member, issuedAt: UInt64(Date().timeIntervalSince1970), by: try SigningKeyPair.generate())
        var tampered = forged
        tampered.target = bob.member
        let hostile: [(channel: [UInt8], bytes: [UInt8])] = [
            // Signed, untampered, by a key that holds no staff proof.
            (NodeMessage.Stream.nodes.channel, news(.moderated, [], FrameCodec.encodeValue(RelayedModeration(
                action: FrameCodec.encodeValue(forged), moderator: MemberInfo(member: forged.moderator, displayName: "Mo"), lifted: nil,
                rotated: []))).encoded()),
            (NodeMessage.Stream.nodes.channel, [1, 14, 0, 0]),                                   // cut off
            (NodeMessage.Stream.nodes.channel, news(.direct, alice.member.bytes, [1, 2, 3]).encoded()),   // on another kind's channel
            (NodeMessage.Stream.nodes.channel, news(.spent, [], FrameCodec.encodeValue(BudgetsSpent(
                spent: [.init(member: alice.member, budget: .messageBytes, amount: -1e18), .init(member: alice.member, budget: .messageBytes, amount: 1e300)],
                addresses: []))).encoded()),
            (NodeMessage.Stream.nodes.channel, news(.line, [], FrameCodec.encodeValue(NodeSummary(
                entries: [], counsellors: [], here: ["lobby": Int.max]))).encoded()),
            (NodeMessage.Stream.nodes.channel, news(.moderated, [], FrameCodec.encodeValue(RelayedModeration(
                action: FrameCodec.encodeValue(tampered), moderator: MemberInfo(member: tampered.moderator, displayName: "Mo"), lifted: nil,
                rotated: [("lobby", -1)]))).encoded()),
        ]
        let publisher = try RedisConnection(redis.address)
        for message in hostile { try publisher.command([Array("PUBLISH".utf8), message.channel, message.bytes]) }
        try await waitFor("the node to hear the news (and say it is alive)") {
            try server.server.metricsText().contains("haven_cluster_nodes 1\n") ? true : nil
        }
        // Nobody was banned, the budget is whole, the room is where it was, and the node serves.
        _ = try await alice.client.send("still here", to: lobby)
        #expect(try await bob.waitForTexts(1, in: lobby) == ["still here"])
        #expect(try await bob.client.rooms().first { $0.room == lobby }?.online == 2)
        #expect(!alice.log.events.contains { if case .disconnected = $0 { true } else { false } })
    }
}
