import Foundation
import HavenClient
import HavenProtocol
import HavenServer
import HavenStore
import HavenTestSupport
import Sodium
import Testing

/// A roster the operator signs while the server runs reaches every client, and a revoked
/// counsellor loses their powers on the server and in members' clients.
@Suite struct StaffLifecycleTests {
    let organisation = try! SigningKeyPair.generate()
    let lobby = try! RoomID("lobby")

    /// A server with the organisation key that reads a new roster within 100 ms, and a client loop.
    func stage() throws -> (TestServer, ClientLoop) {
        let key = organisation.publicKey
        let server = try TestServer {
            $0.organisationPublicKey = key
            $0.roomReloadMilliseconds = 100
        }
        return (server, try ClientLoop())
    }

    /// What `haven staff` does: saves a signed roster where the running server reads it.
    func save(_ roster: StaffRoster, in server: TestServer) throws {
        let store = try HavenStore(path: server.databasePath)
        defer { store.close() }
        let bytes = FrameCodec.encodeValue(roster)
        try store.performAndWait { try $0.saveStaffRoster(sequence: Int64(roster.sequence), roster: bytes) }
    }

    /// The staff certificate the server holds for `member`.
    func certificate(of member: MemberID, in server: TestServer) throws -> StaffCertificate {
        let store = try HavenStore(path: server.databasePath)
        defer { store.close() }
        let stored = try store.performAndWait { try $0.staffCertificate(member: member.bytes) }
        return try FrameCodec.decodeValue(StaffCertificate.self, from: try #require(stored))
    }

    @Test func aRevokedCounsellorIsAMemberToTheServerAndToClients() async throws {
        let key = organisation.publicKey
        let (server, loop) = try stage()
        let counsellor = try await server.staffClient(.counsellor, "Ana", organisation: organisation, loop: loop)
        let alice = try TestClient("Quiet Otter", loop: loop.loop, organisation: key)
        try await alice.connect(server)
        _ = try await counsellor.client.join(lobby)
        _ = try await alice.client.join(lobby)

        let certificate = try certificate(of: counsellor.member, in: server)
        let ana = MemberInfo(member: counsellor.member, displayName: "Ana", staff: certificate)
        #expect(await alice.client.role(of: ana) == .counsellor)

        let now = UInt64(Date().timeIntervalSince1970)
        let roster = StaffRoster.sign(
            sequence: 1, issuedAt: now, staff: [StaffGrant(invite: certificate.invite.id, member: counsellor.member, role: .counsellor, until: now + 3600)],
            revoked: [StaffRevocation(member: counsellor.member, since: now)], organisation: organisation)
        try save(roster, in: server)

        _ = try await waitFor("Alice's client to adopt the roster") { await alice.client.role(of: ana) == nil ? true : nil }
        await #expect(throws: ClientError.refused(code: "not_a_moderator", message: "only staff may moderate")) {
            try await counsellor.client.moderate(.suspend, target: alice.member, until: 4_000_000_000)
        }
        // A roster signed by another key changes nothing: the newest genuine one stands.
        try save(StaffRoster.sign(sequence: 2, issuedAt: now, staff: [], revoked: [], organisation: try SigningKeyPair.generate()), in: server)
        await #expect(throws: ClientError.self) {
            try await counsellor.client.moderate(.suspend, target: alice.member, until: 4_000_000_000)
        }
        #expect(await alice.client.role(of: ana) == nil)
    }

    /// Revoking a counsellor who holds a private room's key moves the room to a new epoch they are
    /// not sealed.
    @Test func aRevokedCounsellorLosesAPrivateRoomsKeyAtTheNextEpoch() async throws {
        let (server, loop) = try stage()
        let ana = try await server.staffClient(.counsellor, "Ana", organisation: organisation, loop: loop)
        let rowan = try await server.staffClient(.counsellor, "Rowan", organisation: organisation, loop: loop)
        let grief = try RoomID("grief")
        _ = try await ana.client.createRoom(grief, name: "Grief group", kind: "private")
        _ = try await ana.client.join(grief)
        await ana.client.waitForKey(grief)
        _ = try await rowan.client.join(grief)
        await rowan.client.waitForKey(grief)
        let before = try #require(await ana.client.epoch(of: grief))

        #expect(try certificate(of: rowan.member, in: server).member == rowan.member)
        let now = UInt64(Date().timeIntervalSince1970)
        try save(StaffRoster.sign(sequence: 1, issuedAt: now, staff: [], revoked: [StaffRevocation(member: rowan.member, since: now)],
                                  organisation: organisation), in: server)

        let after = try await waitFor("a new epoch in the private room", timeout: 20) { () async -> UInt64? in
            guard let epoch = await ana.client.epoch(of: grief), epoch > before, await ana.client.currentKey(of: grief)?.epoch == epoch else { return nil }
            return epoch
        }
        _ = try await waitFor("Rowan's client to see the new epoch") { await rowan.client.epoch(of: grief) == after ? true : nil }
        #expect(await rowan.client.currentKey(of: grief)?.epoch != after, "the revoked counsellor holds no key to the new epoch")
        _ = try await ana.client.send("after Rowan left the staff", to: grief)
    }
}
