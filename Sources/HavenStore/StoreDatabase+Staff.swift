/// A member who is staff by a redeemed invite, or moderator by appointment, as the store keeps them.
public struct StaffRecord: Sendable, Equatable {
    /// Their identity key.
    public let member: [UInt8]
    /// "counsellor" or "moderator".
    public let role: String
    /// Their staff certificate (JSON), or nil for an appointed moderator.
    public let certificate: [UInt8]?
    /// The appointing counsellor's key, for an appointed moderator.
    public let appointedBy: [UInt8]?
    /// When they became staff (unix seconds; 0 where the store did not record it).
    public let since: Int64
}

extension StoreDatabase {
    /// Everyone who is or was staff: redeemed invites first, then appointed moderators.
    public func staffMembers() throws -> [StaffRecord] {
        let certified = try run("SELECT member, role, certificate, created_at FROM staff ORDER BY created_at").map {
            StaffRecord(member: $0[0].blob, role: $0[1].text, certificate: $0[2].blob, appointedBy: nil, since: $0[3].integer)
        }
        let appointed = try run("SELECT member, appointed_by FROM appointments ORDER BY member").map {
            StaffRecord(member: $0[0].blob, role: "moderator", certificate: nil, appointedBy: $0[1].blob, since: 0)
        }
        return certified + appointed
    }

    /// The organisation's newest signed staff roster (JSON) and its sequence, if one was saved.
    public func staffRoster() throws -> (sequence: Int64, roster: [UInt8])? {
        try run("SELECT sequence, roster FROM staff_roster WHERE \"only\" = 1").first.map { ($0[0].integer, $0[1].blob) }
    }

    /// Saves a newer roster. - Throws: ``StoreError/conflict(_:)`` when the saved one is as new
    /// (two operators signing at once: the second signs again on top of the first).
    public func saveStaffRoster(sequence: Int64, roster: [UInt8]) throws {
        try run("""
            INSERT INTO staff_roster ("only", sequence, roster) VALUES (1, ?, ?)
            ON CONFLICT ("only") DO UPDATE SET sequence = excluded.sequence, roster = excluded.roster
            WHERE excluded.sequence > staff_roster.sequence
            """, [.integer(sequence), .blob(roster)])
        guard connection.changes == 1 else { throw StoreError.conflict("a roster as new as \(sequence) is already saved") }
    }
}
