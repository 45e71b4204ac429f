public import Sodium

/// A staff role granted by invite.
public enum StaffRole: String, Codable, Sendable, CaseIterable {
    /// A counsellor: talks to members, may create rooms and appoint moderators.
    case counsellor
    /// A moderator: deletes messages, suspends, removes and bans, handles reports.
    case moderator
}

/// An invite, signed by the organisation key: "whoever holds the secret of `inviteKey` may become
/// staff with `role`, once, before `expiresAt`, and stays staff until `staffUntil` unless the
/// organisation's staff roster renews or revokes them". The secret travels only in the invite
/// link's fragment (docs/crypto.md, "Staff invites").
public struct InviteCertificate: Codable, Sendable, Hashable {
    /// 16 random bytes naming the invite.
    public var id: WireBytes
    /// The role it grants.
    public var role: StaffRole
    /// Unix time (seconds) after which it cannot be redeemed.
    public var expiresAt: UInt64
    /// Unix time (seconds) at which the staff certificate it grants expires (a roster can renew it).
    public var staffUntil: UInt64
    /// The Ed25519 public key of the invite's one-time secret.
    public var inviteKey: WireBytes
    /// The organisation's signature over ``signedBytes``.
    public var signature: WireBytes

    /// label, id, role, expiry, staff expiry, invite key.
    public var signedBytes: [UInt8] {
        var bytes = CanonicalBytes(label: DomainLabel.invite)
        bytes.append(id.bytes)
        bytes.append(role.rawValue)
        bytes.append(expiresAt)
        bytes.append(staffUntil)
        bytes.append(inviteKey.bytes)
        return bytes.bytes
    }

    /// Creates and signs an invite; returns it with the one-time secret seed for the link.
    public static func issue(
        role: StaffRole, expiresAt: UInt64, staffUntil: UInt64, organisation: SigningKeyPair
    ) throws -> (InviteCertificate, SecretBytes) {
        let seed = try SecretBytes.random(count: SigningKeyPair.seedLength)
        let inviteKeys = try SigningKeyPair(seed: seed)
        var certificate = InviteCertificate(
            id: WireBytes(RandomBytes.bytes(count: 16)), role: role, expiresAt: expiresAt, staffUntil: staffUntil,
            inviteKey: WireBytes(inviteKeys.publicKey.bytes), signature: WireBytes([]))
        certificate.signature = WireBytes(organisation.sign(certificate.signedBytes))
        return (certificate, seed)
    }

    /// Checks the organisation's signature. - Throws: ``ProtocolError/signatureInvalid(what:)``.
    public func verify(organisation: SigningPublicKey) throws(ProtocolError) {
        try id.require(length: 16, field: "invite.id")
        try inviteKey.require(length: SigningPublicKey.length, field: "invite.inviteKey")
        try organisation.verify(signature.bytes, of: signedBytes, what: "invite")
    }
}

/// Proof that a member's key is staff: the organisation's invite, and the invite secret's
/// signature over the member's key. Anyone holding the organisation's public key can check it.
public struct StaffCertificate: Codable, Sendable, Hashable {
    /// The invite that was redeemed.
    public var invite: InviteCertificate
    /// The staff member's identity key.
    public var member: MemberID
    /// The invite secret's signature over ``signedBytes(invite:member:)``.
    public var signature: WireBytes

    /// label, invite id, role, member key.
    public static func signedBytes(invite: InviteCertificate, member: MemberID) -> [UInt8] {
        var bytes = CanonicalBytes(label: DomainLabel.staff)
        bytes.append(invite.id.bytes)
        bytes.append(invite.role.rawValue)
        bytes.append(member.bytes)
        return bytes.bytes
    }

    /// Redeems an invite: the invite secret signs `member`'s key.
    public static func redeem(_ invite: InviteCertificate, seed: SecretBytes, member: MemberID) throws -> StaffCertificate {
        let inviteKeys = try SigningKeyPair(seed: seed)
        guard inviteKeys.publicKey.bytes == invite.inviteKey.bytes else {
            throw ProtocolError.invalidField("invite", reason: "the link's secret does not belong to this invite")
        }
        return StaffCertificate(invite: invite, member: member, signature: WireBytes(inviteKeys.sign(signedBytes(invite: invite, member: member))))
    }

    /// Checks the whole chain, organisation → invite → member, and returns the role.
    ///
    /// - Throws: ``ProtocolError/signatureInvalid(what:)`` naming the broken link.
    public func verify(organisation: SigningPublicKey) throws(ProtocolError) -> StaffRole {
        try invite.verify(organisation: organisation)
        do {
            let inviteKey = try SigningPublicKey(bytes: invite.inviteKey.bytes)
            try inviteKey.verify(signature: signature.bytes, of: Self.signedBytes(invite: invite, member: member))
        } catch {
            throw .signatureInvalid(what: "staff certificate")
        }
        return invite.role
    }
}

/// The secret part of an invite link: `<server>/#invite=` followed by base64url(id ‖ seed).
public enum InviteLink {
    /// The fragment value for an invite id and its secret seed.
    public static func fragment(id: [UInt8], seed: SecretBytes) -> String {
        seed.withUnsafeBytes { Base64URL.encode(id + Array($0)) }
    }

    /// Splits a fragment value into the invite id and the secret seed.
    public static func parse(_ fragment: String) throws(ProtocolError) -> (id: [UInt8], seed: SecretBytes) {
        guard var bytes = try? Base64URL.decode(fragment), bytes.count == 16 + SigningKeyPair.seedLength else {
            throw .invalidField("invite", reason: "not an invite link")
        }
        let id = Array(bytes.prefix(16))
        var seed = Array(bytes.dropFirst(16))
        bytes.withUnsafeMutableBytes { buffer in _ = buffer.initializeMemory(as: UInt8.self, repeating: 0) }
        guard let secret = try? SecretBytes(consuming: &seed) else { throw .invalidField("invite", reason: "secure memory unavailable") }
        return (id, secret)
    }
}
