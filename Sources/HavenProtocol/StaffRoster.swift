public import Sodium

/// One staff member the organisation vouches for, and until when.
public struct StaffGrant: Codable, Sendable, Hashable {
    /// The invite they redeemed: the only key this invite may ever certify, in every client's eyes.
    public var invite: WireBytes
    /// Their identity key.
    public var member: MemberID
    /// The role the invite granted.
    public var role: StaffRole
    /// Unix time (seconds) their staff status ends; renewing signs a later time.
    public var until: UInt64
    /// Creates the value.
    public init(invite: WireBytes, member: MemberID, role: StaffRole, until: UInt64) {
        self.invite = invite
        self.member = member
        self.role = role
        self.until = until
    }
}

/// A member who is not staff any more, from `since` on, whatever their certificate or appointment says.
public struct StaffRevocation: Codable, Sendable, Hashable {
    /// Their identity key.
    public var member: MemberID
    /// Unix time (seconds) of the revocation.
    public var since: UInt64
    /// Creates the value.
    public init(member: MemberID, since: UInt64) {
        self.member = member
        self.since = since
    }
}

/// The organisation's signed list of current staff and of revocations (`haven staff`), which the
/// server hands out and clients check before showing a badge or honouring a staff action. A higher
/// `sequence` replaces a lower one; clients never go back to a lower one.
public struct StaffRoster: Codable, Sendable, Equatable {
    /// Increases with every roster the organisation signs.
    public var sequence: UInt64
    /// Unix time (seconds) it was signed.
    public var issuedAt: UInt64
    /// Redeemed invites and the key each certified, with renewed expiry times.
    public var staff: [StaffGrant]
    /// Members whose staff status (certificate or appointment) is withdrawn.
    public var revoked: [StaffRevocation]
    /// The organisation's signature over ``signedBytes``.
    public var signature: WireBytes

    /// label, sequence, time, each grant (invite, member, role, until), each revocation (member, since).
    public var signedBytes: [UInt8] {
        var bytes = CanonicalBytes(label: DomainLabel.staffRoster)
        bytes.append(sequence)
        bytes.append(issuedAt)
        bytes.append(UInt64(staff.count))
        for grant in staff {
            bytes.append(grant.invite.bytes)
            bytes.append(grant.member.bytes)
            bytes.append(grant.role.rawValue)
            bytes.append(grant.until)
        }
        bytes.append(UInt64(revoked.count))
        for revocation in revoked {
            bytes.append(revocation.member.bytes)
            bytes.append(revocation.since)
        }
        return bytes.bytes
    }

    /// Signs a roster with the organisation key.
    public static func sign(
        sequence: UInt64, issuedAt: UInt64, staff: [StaffGrant], revoked: [StaffRevocation], organisation: SigningKeyPair
    ) -> StaffRoster {
        var roster = StaffRoster(sequence: sequence, issuedAt: issuedAt, staff: staff, revoked: revoked, signature: WireBytes([]))
        roster.signature = WireBytes(organisation.sign(roster.signedBytes))
        return roster
    }

    /// Checks the organisation's signature. - Throws: ``ProtocolError/signatureInvalid(what:)``.
    public func verify(organisation: SigningPublicKey) throws(ProtocolError) {
        for grant in staff { try grant.invite.require(length: 16, field: "roster.staff.invite") }
        try organisation.verify(signature.bytes, of: signedBytes, what: "staff roster")
    }

    /// The grant for an invite, if the roster lists it.
    public func grant(invite: WireBytes) -> StaffGrant? { staff.first { $0.invite == invite } }

    /// When `member` stopped being staff, if the roster says they did.
    public func revokedSince(_ member: MemberID) -> UInt64? { revoked.first { $0.member == member }?.since }
}

/// Server to client: the organisation's newest signed staff roster.
public struct StaffRosterFrame: Codable, Sendable, Equatable {
    /// The roster, signed by the organisation key (clients check it against the key they pinned).
    public var roster: StaffRoster
    /// Creates the frame.
    public init(roster: StaffRoster) { self.roster = roster }
}
