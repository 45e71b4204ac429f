import HavenProtocol
import Sodium
import Testing

/// Staff status as clients judge it: a chain to the pinned key, an expiry, the organisation's
/// roster of renewals and revocations, and one key per invite.
@Suite struct StaffTrustTests {
    let organisation = try! SigningKeyPair.generate()
    let counsellor = try! SigningKeyPair.generate()

    func certificate(for member: SigningKeyPair, staffUntil: UInt64 = 2_000, role: StaffRole = .counsellor) throws -> StaffCertificate {
        let (invite, seed) = try InviteCertificate.issue(role: role, expiresAt: 1_000, staffUntil: staffUntil, organisation: organisation)
        return try StaffCertificate.redeem(invite, seed: seed, member: MemberID(member.publicKey))
    }

    func info(_ certificate: StaffCertificate) -> MemberInfo {
        MemberInfo(member: certificate.member, displayName: "Ana", staff: certificate)
    }

    func roster(_ sequence: UInt64, staff: [StaffGrant] = [], revoked: [StaffRevocation] = [], by signer: SigningKeyPair? = nil) -> StaffRoster {
        StaffRoster.sign(sequence: sequence, issuedAt: 1_500, staff: staff, revoked: revoked, organisation: signer ?? organisation)
    }

    @Test func aCertificateExpiresUnlessTheRosterRenewsIt() throws {
        let staff = try certificate(for: counsellor)
        var trust = StaffTrust(organisation: organisation.publicKey)
        #expect(trust.role(of: info(staff), at: 1_999) == .counsellor)
        #expect(trust.role(of: info(staff), at: 2_000) == nil)
        try trust.adopt(roster(1, staff: [StaffGrant(invite: staff.invite.id, member: staff.member, role: .counsellor, until: 5_000)]))
        #expect(trust.role(of: info(staff), at: 4_999) == .counsellor)
        #expect(trust.role(of: info(staff), at: 5_000) == nil)
    }

    @Test func aRevokedMemberIsStaffOnlyBeforeTheRevocation() throws {
        let staff = try certificate(for: counsellor)
        var trust = StaffTrust(organisation: organisation.publicKey)
        try trust.adopt(roster(1, revoked: [StaffRevocation(member: staff.member, since: 1_200)]))
        #expect(trust.role(of: info(staff), at: 1_199) == .counsellor)
        #expect(trust.role(of: info(staff), at: 1_200) == nil)
    }

    @Test func anInviteCertifiesOneKeyInAClientsEyes() throws {
        let (invite, seed) = try InviteCertificate.issue(role: .counsellor, expiresAt: 1_000, staffUntil: 2_000, organisation: organisation)
        let thief = try SigningKeyPair.generate()
        let first = try StaffCertificate.redeem(invite, seed: seed, member: MemberID(counsellor.publicKey))
        let second = try StaffCertificate.redeem(invite, seed: seed, member: MemberID(thief.publicKey))
        // Seen first, the redeemer's key holds the invite; the second key gets no role.
        var trust = StaffTrust(organisation: organisation.publicKey)
        trust.notice(info(first))
        trust.notice(info(second))
        #expect(trust.role(of: info(first), at: 1_100) == .counsellor)
        #expect(trust.role(of: info(second), at: 1_100) == nil)
        // A client that sees the thief first still refuses them once the roster binds the invite.
        var fresh = StaffTrust(organisation: organisation.publicKey)
        fresh.notice(info(second))
        try fresh.adopt(roster(1, staff: [StaffGrant(invite: invite.id, member: first.member, role: .counsellor, until: 2_000)]))
        #expect(fresh.role(of: info(second), at: 1_100) == nil)
        #expect(fresh.role(of: info(first), at: 1_100) == .counsellor)
    }

    @Test func aForgedOrOlderRosterIsRefused() throws {
        let staff = try certificate(for: counsellor)
        var trust = StaffTrust(organisation: organisation.publicKey)
        try trust.adopt(roster(2, revoked: [StaffRevocation(member: staff.member, since: 0)]))
        #expect(throws: ProtocolError.signatureInvalid(what: "staff roster")) {
            try trust.adopt(roster(3, by: try SigningKeyPair.generate()))
        }
        #expect(throws: ProtocolError.self) { try trust.adopt(roster(1)) }
        #expect(throws: ProtocolError.self) { try trust.adopt(roster(2)) }
        var tampered = roster(3)
        tampered.revoked = []
        tampered.sequence = 4
        #expect(throws: ProtocolError.self) { try trust.adopt(tampered) }
        #expect(trust.role(of: info(staff), at: 1_100) == nil, "the revocation still stands")
    }

    @Test func anAppointedModeratorFallsWithTheirCounsellor() throws {
        let staff = try certificate(for: counsellor)
        let member = try SigningKeyPair.generate()
        let appointment = ModerationAction.sign(.appoint, target: MemberID(member.publicKey), issuedAt: 1_000, by: counsellor)
        let appointed = MemberInfo(member: MemberID(member.publicKey), displayName: "Sam", appointment: appointment, appointedBy: staff)
        var trust = StaffTrust(organisation: organisation.publicKey)
        #expect(trust.role(of: appointed, at: 1_100) == .moderator)
        #expect(trust.role(of: appointed, at: 2_100) == nil, "their counsellor expired")
        try trust.adopt(roster(1, revoked: [StaffRevocation(member: staff.member, since: 1_050)]))
        #expect(trust.role(of: appointed, at: 1_100) == nil, "their counsellor was revoked")
    }
}
