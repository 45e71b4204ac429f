import Foundation
import HavenClient
import HavenProtocol
import HavenServer
import HavenStore
import HavenTestSupport
import Sodium
import Testing

/// Staff join only by invite: organisation → invite → staff key, single use, expiry, revocation.
@Suite struct InviteTests {
    let lobby = try! RoomID("lobby")
    let organisation = try! SigningKeyPair.generate()

    func server() throws -> TestServer {
        let key = organisation.publicKey
        return try TestServer { $0.organisationPublicKey = key }
    }

    func invite(_ server: TestServer, role: StaffRole = .counsellor, expiresIn: Int64 = 3600) throws -> (id: [UInt8], link: String) {
        try server.invite(role, organisation: organisation, expiresIn: expiresIn)
    }

    @Test func counsellorRedeemsAnInviteAndMembersSeeVerifiedStaff() async throws {
        let server = try server()
        let clients = try ClientLoop()
        let link = try invite(server).link
        let counsellor = try TestClient("Ana", loop: clients.loop, organisation: organisation.publicKey)
        try await counsellor.connect(server)
        let certificate = try await counsellor.client.redeemInvite(link, organisation: organisation.publicKey)
        #expect(try certificate.verify(organisation: organisation.publicKey) == .counsellor)
        _ = try await counsellor.client.join(lobby)

        // A member sees the counsellor as verified staff, checked against the organisation key.
        let member = try TestClient("Quiet Otter", loop: clients.loop, organisation: organisation.publicKey)
        try await member.connect(server)
        let joined = try await member.client.join(lobby)
        let shown = try #require(joined.members.first { $0.member == counsellor.member })
        #expect(shown.verifiedRole(organisation: organisation.publicKey) == .counsellor)

        // The certificate survives a reconnect: it is stored with the identity and announced again
        // when the counsellor's client rejoins the room.
        await counsellor.client.disconnect()
        try await Task.sleep(for: .milliseconds(100))
        try await counsellor.connect(server)
        let again = try await member.log.wait("the counsellor's return") { events in
            events.compactMap { event -> MemberInfo? in
                if case .memberJoined(_, let info) = event, info.member == counsellor.member { return info }
                return nil
            }.last
        }
        #expect(again.verifiedRole(organisation: organisation.publicKey) == .counsellor)
    }

    @Test func anInviteWorksOnce() async throws {
        let server = try server()
        let clients = try ClientLoop()
        let link = try invite(server, role: .moderator).link
        let first = try TestClient("First", loop: clients.loop, organisation: organisation.publicKey)
        try await first.connect(server)
        #expect(try await first.client.redeemInvite(link, organisation: organisation.publicKey).invite.role == .moderator)
        let second = try TestClient("Second", loop: clients.loop, organisation: organisation.publicKey)
        try await second.connect(server)
        await #expect(throws: ClientError.refused(code: "invite_used", message: "this invite is used")) {
            try await second.client.redeemInvite(link, organisation: self.organisation.publicKey)
        }
    }

    @Test func expiredAndRevokedInvitesAreRefused() async throws {
        let server = try server()
        let clients = try ClientLoop()
        let expired = try invite(server, expiresIn: -1).link
        let revoked = try invite(server)
        let store = try HavenStore(path: server.databasePath)
        try store.performAndWait { try $0.revokeInvite(revoked.id, now: Int64(Date().timeIntervalSince1970)) }
        store.close()
        let client = try TestClient("Hopeful", loop: clients.loop, organisation: organisation.publicKey)
        try await client.connect(server)
        await #expect(throws: ClientError.refused(code: "invite_expired", message: "this invite is expired")) {
            try await client.client.redeemInvite(expired, organisation: self.organisation.publicKey)
        }
        await #expect(throws: ClientError.refused(code: "invite_revoked", message: "this invite is revoked")) {
            try await client.client.redeemInvite(revoked.link, organisation: self.organisation.publicKey)
        }
        await #expect(throws: ClientError.self) {
            try await client.client.redeemInvite(String(repeating: "A", count: 64), organisation: self.organisation.publicKey)
        }
    }

    @Test func forgedStaffCertificatesConvinceNeitherTheServerNorClients() async throws {
        let server = try server()
        let clients = try ClientLoop()
        let impostor = try TestClient("Impostor Fox", loop: clients.loop, organisation: organisation.publicKey)
        try await impostor.connect(server)

        // An invite signed by a key of the impostor's own, redeemed for themselves.
        let fakeOrganisation = try SigningKeyPair.generate()
        let (fakeInvite, fakeSeed) = try InviteCertificate.issue(role: .moderator, expiresAt: UInt64.max >> 12, staffUntil: UInt64.max >> 12, organisation: fakeOrganisation)
        let forged = try StaffCertificate.redeem(fakeInvite, seed: fakeSeed, member: impostor.member)
        await impostor.client.sendRaw(String(decoding: FrameCodec.encode(.redeemInvite(StaffFrame(certificate: forged))), as: UTF8.self))
        _ = try await impostor.log.wait("the refusal") { events in
            events.contains { if case .serverError(let error) = $0, error.code == "signature_invalid" { return true } else { return false } } ? true : nil
        }
        #expect(MemberInfo(member: impostor.member, displayName: "x", staff: forged).verifiedRole(organisation: organisation.publicKey) == nil)

        // A genuine certificate borrowed from real staff does not verify for another member.
        let link = try invite(server).link
        let counsellor = try TestClient("Ana", loop: clients.loop, organisation: organisation.publicKey)
        try await counsellor.connect(server)
        let genuine = try await counsellor.client.redeemInvite(link, organisation: organisation.publicKey)
        #expect(MemberInfo(member: impostor.member, displayName: "x", staff: genuine).verifiedRole(organisation: organisation.publicKey) == nil)
        #expect(MemberInfo(member: counsellor.member, displayName: "Ana", staff: genuine).verifiedRole(organisation: organisation.publicKey) == .counsellor)
    }
}
