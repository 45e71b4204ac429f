/// An invite as the store keeps it.
public struct InviteRecord: Sendable, Equatable {
    /// The invite id.
    public let id: [UInt8]
    /// "counsellor" or "moderator".
    public let role: String
    /// The organisation-signed invite certificate (JSON).
    public let certificate: [UInt8]
    /// The operator's note (never sent to clients).
    public let note: String
    /// When it was created and when it expires (unix seconds).
    public let createdAt: Int64
    /// Expiry (unix seconds).
    public let expiresAt: Int64
    /// When it was redeemed, if it was.
    public let usedAt: Int64?
    /// When it was revoked, if it was.
    public let revokedAt: Int64?

    /// "open", "used", "revoked" or "expired" at `now`.
    public func state(now: Int64) -> String {
        if revokedAt != nil { return "revoked" }
        if usedAt != nil { return "used" }
        return expiresAt <= now ? "expired" : "open"
    }
}

extension StoreDatabase {
    /// Records a new invite.
    public func createInvite(id: [UInt8], role: String, certificate: [UInt8], note: String, now: Int64, expiresAt: Int64) throws {
        try run("INSERT INTO invites (id, role, certificate, note, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?)",
                [.blob(id), .text(role), .blob(certificate), .text(note), .integer(now), .integer(expiresAt)])
    }

    /// Every invite, newest first.
    public func invites() throws -> [InviteRecord] {
        try run("SELECT id, role, certificate, note, created_at, expires_at, used_at, revoked_at FROM invites ORDER BY created_at DESC")
            .map(Self.invite)
    }

    /// One invite, or nil.
    public func invite(_ id: [UInt8]) throws -> InviteRecord? {
        try run("SELECT id, role, certificate, note, created_at, expires_at, used_at, revoked_at FROM invites WHERE id = ?", [.blob(id)])
            .first.map(Self.invite)
    }

    private static func invite(_ row: [StoreValue]) -> InviteRecord {
        let optional: (StoreValue) -> Int64? = { if case .integer(let value) = $0 { value } else { nil } }
        return InviteRecord(
            id: row[0].blob, role: row[1].text, certificate: row[2].blob, note: row[3].text, createdAt: row[4].integer,
            expiresAt: row[5].integer, usedAt: optional(row[6]), revokedAt: optional(row[7]))
    }

    /// Revokes an open invite. - Throws: ``StoreError/notFound(_:)`` or ``StoreError/conflict(_:)``.
    public func revokeInvite(_ id: [UInt8], now: Int64) throws {
        try run("UPDATE invites SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL AND used_at IS NULL", [.integer(now), .blob(id)])
        guard connection.changes == 0 else { return }
        guard let invite = try invite(id) else { throw StoreError.notFound("invite") }
        throw StoreError.conflict("the invite is already \(invite.state(now: now))")
    }

    /// Redeems an open, unexpired invite for `member` and records them as staff, atomically:
    /// of two concurrent redemptions, one wins. Returns the invite's state when it was not open.
    public func redeemInvite(_ id: [UInt8], member: [UInt8], role: String, staffCertificate: [UInt8], now: Int64) throws -> String? {
        try run("""
            UPDATE invites SET used_at = ?, used_by = ?
            WHERE id = ? AND used_at IS NULL AND revoked_at IS NULL AND expires_at > ?
            """, [.integer(now), .blob(member), .blob(id), .integer(now)])
        guard connection.changes == 1 else { return try invite(id)?.state(now: now) ?? "unknown" }
        try run("""
            INSERT INTO staff (member, role, certificate, created_at) VALUES (?, ?, ?, ?)
            ON CONFLICT (member) DO UPDATE SET role = excluded.role, certificate = excluded.certificate
            """, [.blob(member), .text(role), .blob(staffCertificate), .integer(now)])
        return nil
    }

    /// Every redeemed invite: its certificate (JSON) and the key it certified.
    public func redeemedInvites() throws -> [(certificate: [UInt8], member: [UInt8])] {
        try run("SELECT certificate, used_by FROM invites WHERE used_by IS NOT NULL ORDER BY used_at").map { ($0[0].blob, $0[1].blob) }
    }

    /// The staff certificate of `member`, if they are staff.
    public func staffCertificate(member: [UInt8]) throws -> [UInt8]? {
        try run("SELECT certificate FROM staff WHERE member = ?", [.blob(member)]).first?.first?.blob
    }
}

extension StoreDatabase {
    /// Records that `member` was appointed moderator by the action `appointment` of `appointedBy`.
    public func appoint(member: [UInt8], appointment: [UInt8], appointedBy: [UInt8]) throws {
        try run("""
            INSERT INTO appointments (member, action, appointed_by) VALUES (?, ?, ?)
            ON CONFLICT (member) DO UPDATE SET action = excluded.action, appointed_by = excluded.appointed_by
            """, [.blob(member), .blob(appointment), .blob(appointedBy)])
    }

    /// A member's appointment and the appointing counsellor's staff certificate, if appointed.
    public func appointment(member: [UInt8]) throws -> (action: [UInt8], appointerCertificate: [UInt8])? {
        guard let row = try run("""
            SELECT a.action, s.certificate FROM appointments a JOIN staff s ON s.member = a.appointed_by WHERE a.member = ?
            """, [.blob(member)]).first else { return nil }
        return (row[0].blob, row[1].blob)
    }
}
