import Foundation
import HavenClient
import HavenProtocol
import HavenServer
import HavenStore
import HavenTestSupport
import Sodium
import Testing

/// A removal moves the room to a new epoch sealed only to those who remain, and every member can
/// see who holds the key from the signed bundles.
@Suite struct KeyRotationTests {
    let lobby = try! RoomID("lobby")
    let organisation = try! SigningKeyPair.generate()

    /// Alice and then Bob in the lobby of a server without rate limits, each holding its key; the
    /// server and the loop are returned to keep them alive.
    func aliceAndBobInTheLobby() async throws -> (TestServer, ClientLoop, TestClient, TestClient) {
        let server = try TestServer { $0.rateLimits = .unlimited }
        let loop = try ClientLoop()
        let alice = try TestClient("Quiet Otter", loop: loop.loop)
        let bob = try TestClient("Calm Heron", loop: loop.loop)
        try await alice.enter(server, room: lobby)
        try await bob.enter(server, room: lobby)
        return (server, loop, alice, bob)
    }

    /// A join is answered with the member's own key bundles and the current epoch's from its
    /// author, not every bundle members sealed to each other: thousands of those (sock puppets
    /// sealing to one another) would overflow a newcomer's queue and cut every newcomer off.
    @Test func aJoinCarriesTheAuthorsBundlesNotEveryBundleBetweenOthers() async throws {
        let (server, loop, alice, bob) = try await aliceAndBobInTheLobby()
        // Alice, the epoch's author, stays: her leaving would start another epoch.
        defer { withExtendedLifetime((loop, alice)) {} }
        let authorBundles = try server.count("SELECT count(*) FROM key_bundles WHERE room = 'lobby' AND epoch = (SELECT current_epoch FROM rooms WHERE id = 'lobby') AND sealer = (SELECT sealer FROM key_bundles WHERE room = 'lobby' ORDER BY id LIMIT 1)")
        #expect(authorBundles >= 1)
        // 3,000 bundles of this epoch from Bob to others, straight into the database.
        let database = try SQLiteConnection(path: server.databasePath)
        try database.execute("""
            WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 3000)
            INSERT INTO key_bundles (room, epoch, recipient, sealer, bundle, created_at)
            SELECT 'lobby', (SELECT current_epoch FROM rooms WHERE id = 'lobby'), randomblob(32), X'\(bob.member.bytes.map { String(format: "%02x", $0) }.joined())',
                   (SELECT bundle FROM key_bundles WHERE room = 'lobby' ORDER BY id LIMIT 1), 0
            FROM n
            """)
        let (newcomer, _) = try await RawWebSocket.joined(lobby, on: server, loop: loop.loop)
        let bundles = newcomer.frames.filter { $0.contains(#""type":"keyBundle""#) }.count
        // The author's, and any sealed to the newcomer since (they go to everyone in the room).
        #expect(bundles >= Int(authorBundles) && bundles < Int(authorBundles) + 10, "a newcomer was sent \(bundles) bundles")
        #expect(try server.metric("haven_slow_consumers_disconnected_total") == 0)
    }

    @Test func removedMemberCannotReadTheNextEpochEvenWithTheWholeDatabase() async throws {
        let key = organisation.publicKey
        let server = try TestServer {
            $0.organisationPublicKey = key
            $0.rateLimits = .unlimited
        }
        let loop = try ClientLoop()
        let moderator = try await moderatorClient(server, loop: loop)
        var members: [TestClient] = []
        for name in ["Quiet Otter", "Calm Heron", "Gentle Fox"] {
            let member = try TestClient(name, loop: loop.loop, organisation: organisation.publicKey)
            try await member.enter(server, room: lobby)
            members.append(member)
        }
        let (alice, bob, carol) = (members[0], members[1], members[2])
        #expect(Set(await alice.client.keyHolders(in: lobby)) == Set([moderator.member, alice.member, bob.member, carol.member]))
        _ = try await alice.client.send("before the removal", to: lobby)
        _ = try await bob.waitForTexts(1, in: lobby)

        try await moderator.client.moderate(.remove, room: lobby, target: bob.member)
        let remaining = Set([moderator.member, alice.member, carol.member])
        for client in [moderator, alice, carol] {
            let holders = try await waitFor("the new epoch's key to reach everyone") { () -> [MemberID]? in
                let holders = await client.client.keyHolders(in: lobby)
                return await client.client.epoch(of: lobby) == 1 && Set(holders) == remaining ? holders : nil
            }
            #expect(!holders.contains(bob.member), "every remaining member sees the removed member is not a key holder")
        }
        await alice.client.waitForKey(lobby)
        _ = try await alice.client.send("after the removal", to: lobby)
        #expect(try await carol.waitForTexts(2, in: lobby) == ["before the removal", "after the removal"])

        // Bob is out: he cannot rejoin, and nothing in the server's database opens for him.
        await #expect(throws: ClientError.refused(code: "removed_from_room", message: "a moderator removed you from this room")) {
            _ = try await bob.client.join(self.lobby)
        }
        let store = try HavenStore(path: server.databasePath)
        defer { store.close() }
        let bundles = try store.performAndWait { try $0.keyBundles(room: "lobby", epoch: 1) }
        #expect(!bundles.isEmpty)
        for bytes in bundles {
            let bundle = try FrameCodec.decodeValue(EpochKeyBundle.self, from: bytes)
            #expect(bundle.recipient != bob.member)
            #expect(throws: (any Error).self) { try bundle.open(with: bob.client.identity) }
        }
        let stored = try store.performAndWait { try $0.roomMessages(room: "lobby", after: 0, limit: 100) }
        let newEpoch = try stored.map { try FrameCodec.decodeValue(RoomEnvelope.self, from: $0.bytes) }.filter { $0.epoch == 1 }
        #expect(newEpoch.count == 1)
        // Not even the key of the epoch he was removed from: his bundle of it went with him.
        #expect(try bundlesOpenedBy(bob, in: store) == nil)
    }

    @Test func roomMovesToANewKeyOnItsScheduleAndKeepsTalking() async throws {
        let server = try TestServer { $0.roomReloadMilliseconds = 200 }
        let loop = try ClientLoop()
        let alice = try TestClient("Quiet Otter", loop: loop.loop, organisation: organisation.publicKey)
        let bob = try TestClient("Calm Heron", loop: loop.loop, organisation: organisation.publicKey)
        for client in [alice, bob] {
            try await client.enter(server, room: lobby)
        }
        let store = try HavenStore(path: server.databasePath)
        defer { store.close() }
        // The epoch started long enough ago that its one-hour period is over (its start is kept
        // as the end of its hour).
        try store.performAndWait { try $0.setRotation(room: "lobby", seconds: 3600, now: Int64(Date().timeIntervalSince1970) - 7201) }
        for client in [alice, bob] {
            _ = try await waitFor("the scheduled rotation") { () -> Bool? in
                let holders = await client.client.keyHolders(in: lobby)
                let epoch = await client.client.epoch(of: lobby) ?? 0
                return epoch >= 1 && Set(holders) == Set([alice.member, bob.member]) ? true : nil
            }
        }
        #expect(await alice.client.epoch(of: lobby) == 1, "one rotation per period")
        await alice.client.waitForKey(lobby)
        _ = try await alice.client.send("after the rotation", to: lobby)
        #expect(try await bob.waitForTexts(1, in: lobby) == ["after the rotation"])
    }

    @Test func aMemberWhoLeavesIsNotGivenTheNextEpoch() async throws {
        let (server, loop, alice, bob) = try await aliceAndBobInTheLobby()
        defer { withExtendedLifetime(loop) {} }
        try await bob.client.leave(lobby)
        _ = try await waitFor("Alice's log to show Bob left and a new epoch begin") { () -> Bool? in
            let members = await alice.client.members(of: lobby)
            let epoch = await alice.client.epoch(of: lobby) ?? 0
            return !members.contains(bob.member) && epoch >= 1 ? true : nil
        }
        await alice.client.waitForKey(lobby)
        _ = try await alice.client.send("after Bob left", to: lobby)
        let store = try HavenStore(path: server.databasePath)
        defer { store.close() }
        let bobs = try store.performAndWait { try $0.keyBundles(room: "lobby", recipient: bob.member.bytes) }
        #expect(try bobs.allSatisfy { try FrameCodec.decodeValue(EpochKeyBundle.self, from: $0).epoch == 0 }, "nothing sealed to Bob after he left")
    }

    /// The epoch-0 key Bob legitimately received.
    func bundlesOpenedBy(_ client: TestClient, in store: HavenStore) throws -> EpochKey? {
        let bundles = try store.performAndWait { try $0.keyBundles(room: "lobby", epoch: 0) }
        return bundles.compactMap { try? FrameCodec.decodeValue(EpochKeyBundle.self, from: $0).open(with: client.client.identity) }.first
    }

    func moderatorClient(_ server: TestServer, loop: ClientLoop) async throws -> TestClient {
        let moderator = try await server.staffClient(.moderator, "Mo", organisation: organisation, loop: loop)
        _ = try await moderator.client.join(lobby)
        await moderator.client.waitForKey(lobby)
        return moderator
    }
}
