public import Sodium

/// What a client (or the server) believes about staff: the organisation key it pinned, the newest
/// staff roster it has seen, and which key each invite certified first. Staff status is a question
/// asked at a time: a certificate past its expiry, a member revoked since, or a second key claiming
/// an invite that already certified someone gets no role (docs/crypto.md, "Staff lifecycle").
public struct StaffTrust: Sendable {
    /// The pinned organisation key every staff chain must end in.
    public let organisation: SigningPublicKey
    /// The newest roster adopted, if any.
    public private(set) var roster: StaffRoster?
    /// Invite id → the first key seen certified by it.
    private var firstCertified: [WireBytes: MemberID] = [:]

    /// Trust in `organisation`, with no roster yet.
    public init(organisation: SigningPublicKey) {
        self.organisation = organisation
    }

    /// Adopts `roster` if it is signed by the organisation and newer than the one held; an equal
    /// one is a no-op. Returns whether anything changed.
    ///
    /// - Throws: ``ProtocolError/signatureInvalid(what:)`` for a forged roster,
    ///   ``ProtocolError/invalidField(_:reason:)`` for an older one (a server replaying the past).
    @discardableResult
    public mutating func adopt(_ roster: StaffRoster) throws(ProtocolError) -> Bool {
        try roster.verify(organisation: organisation)
        if let current = self.roster {
            guard roster.sequence >= current.sequence else {
                throw .invalidField("staffRoster", reason: "roster \(roster.sequence) is older than roster \(current.sequence)")
            }
            if roster.sequence == current.sequence {
                guard roster == current else { throw .invalidField("staffRoster", reason: "two different rosters numbered \(roster.sequence)") }
                return false
            }
        }
        self.roster = roster
        return true
    }

    /// Remembers the key `info`'s certificate names as the one its invite certified, unless an
    /// earlier key holds that place: an invite certifies one key, in this client's eyes too.
    public mutating func notice(_ info: MemberInfo) {
        for certificate in [info.staff, info.appointedBy].compactMap({ $0 }) where firstCertified[certificate.invite.id] == nil {
            if (try? certificate.verify(organisation: organisation)) != nil {
                firstCertified[certificate.invite.id] = certificate.member
            }
        }
    }

    /// `info`'s role at `time`: staff by their own certificate, or moderator by an appointment from
    /// a counsellor who is staff at `time`; nil for everyone else.
    public func role(of info: MemberInfo, at time: UInt64) -> StaffRole? {
        if let staff = info.staff, staff.member == info.member, let role = role(of: staff, at: time) { return role }
        guard let appointment = info.appointment, let appointedBy = info.appointedBy, appointment.kind == .appoint,
              appointment.target == info.member, appointment.moderator == appointedBy.member, (try? appointment.verify()) != nil,
              role(of: appointedBy, at: time) == .counsellor, !isRevoked(info.member, at: time)
        else { return nil }
        return .moderator
    }

    /// The role a staff certificate gives at `time`: its chain verifies, its member is not revoked,
    /// its invite certified no other key, and it has not expired (the roster's renewal counts).
    public func role(of certificate: StaffCertificate, at time: UInt64) -> StaffRole? {
        guard let role = try? certificate.verify(organisation: organisation), !isRevoked(certificate.member, at: time) else { return nil }
        if let grant = roster?.grant(invite: certificate.invite.id) {
            return grant.member == certificate.member && grant.role == role && time < grant.until ? role : nil
        }
        if let first = firstCertified[certificate.invite.id], first != certificate.member { return nil }
        return time < certificate.invite.staffUntil ? role : nil
    }

    private func isRevoked(_ member: MemberID, at time: UInt64) -> Bool {
        guard let since = roster?.revokedSince(member) else { return false }
        return since <= time
    }
}
