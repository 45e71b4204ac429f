/// A suspension or ban in force.
public struct SanctionRecord: Sendable, Equatable {
    /// The action that imposed it.
    public let actionID: [UInt8]
    /// "suspend" or "ban".
    public let kind: String
    /// The member it applies to.
    public let member: [UInt8]
    /// For suspensions, when it ends (unix seconds).
    public let until: Int64?
    /// For removals, the room.
    public let room: String?

    /// A record from its fields (as another node tells of one).
    public init(actionID: [UInt8], kind: String, member: [UInt8], until: Int64?, room: String?) {
        self.actionID = actionID
        self.kind = kind
        self.member = member
        self.until = until
        self.room = room
    }
}

/// One entry of the moderation log.
public struct ModerationLogEntry: Sendable, Equatable {
    /// Position in the log.
    public let sequence: Int64
    /// The signed action as stored (JSON).
    public let action: [UInt8]
    /// When the server recorded it (unix seconds).
    public let createdAt: Int64
}

extension StoreDatabase {
    /// Appends a signed action to the append-only moderation log.
    ///
    /// - Throws: ``StoreError/conflict(_:)`` when an action with this id was already recorded.
    @discardableResult
    public func appendModeration(
        id: [UInt8], kind: String, room: String?, moderator: [UInt8], target: [UInt8]?, action: [UInt8], now: Int64
    ) throws -> Int64 {
        let stored = try run("""
            INSERT INTO moderation_log (id, kind, room, moderator, target, action, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)
            ON CONFLICT DO NOTHING RETURNING seq
            """, [.blob(id), .text(kind), room.map(StoreValue.text) ?? .null, .blob(moderator), target.map(StoreValue.blob) ?? .null,
                  .blob(action), .integer(now)])
        guard let sequence = stored.first?.first?.integer else { throw StoreError.conflict("this action was already recorded") }
        return sequence
    }

    /// Log entries, oldest first, optionally for one room (with `includingServiceWide`, also the
    /// actions that concern no room: suspensions, bans, appointments, lifts) and since a time.
    public func moderationLog(
        room: String? = nil, includingServiceWide: Bool = false, since: Int64 = 0, kind: String? = nil, limit: Int = 10_000
    ) throws -> [ModerationLogEntry] {
        try run("""
            SELECT seq, action, created_at FROM moderation_log
            WHERE (CAST(?1 AS TEXT) IS NULL OR room = ?1 OR (?5 <> 0 AND room IS NULL)) AND created_at >= ?2 AND (CAST(?3 AS TEXT) IS NULL OR kind = ?3)
            ORDER BY seq LIMIT ?4
            """, [room.map(StoreValue.text) ?? .null, .integer(since), kind.map(StoreValue.text) ?? .null, .integer(Int64(limit)),
                  .integer(includingServiceWide ? 1 : 0)])
            .map { ModerationLogEntry(sequence: $0[0].integer, action: $0[1].blob, createdAt: $0[2].integer) }
    }

    /// Up to `limit` log entries for `room` and the service-wide ones, newest first, older than
    /// sequence `before` when given (a page of the audit trail).
    public func moderationLogPage(room: String, before: Int64?, limit: Int) throws -> [ModerationLogEntry] {
        try run("""
            SELECT seq, action, created_at FROM moderation_log
            WHERE (room = ?1 OR room IS NULL) AND (CAST(?2 AS BIGINT) IS NULL OR seq < ?2)
            ORDER BY seq DESC LIMIT ?3
            """, [.text(room), before.map(StoreValue.integer) ?? .null, .integer(Int64(limit))])
            .map { ModerationLogEntry(sequence: $0[0].integer, action: $0[1].blob, createdAt: $0[2].integer) }
    }

    /// Deletes one stored room message (its bytes are overwritten: `secure_delete`); true if it existed.
    @discardableResult
    public func deleteRoomMessage(room: String, sender: [UInt8], messageID: [UInt8]) throws -> Bool {
        try run("DELETE FROM room_messages WHERE room = ? AND sender = ? AND message_id = ?", [.text(room), .blob(sender), .blob(messageID)])
        return connection.changes == 1
    }

    /// Records a suspension (with `until`), a ban, or a removal from `room`.
    public func addSanction(actionID: [UInt8], kind: String, member: [UInt8], until: Int64?, room: String? = nil, now: Int64) throws {
        try run("INSERT INTO sanctions (action_id, kind, member, until, created_at, room) VALUES (?, ?, ?, ?, ?, ?)",
                [.blob(actionID), .text(kind), .blob(member), until.map(StoreValue.integer) ?? .null, .integer(now),
                 room.map(StoreValue.text) ?? .null])
    }

    /// Moves `room` to its next key epoch and returns it.
    public func advanceEpoch(room: String, now: Int64) throws -> Int64 {
        try run("UPDATE rooms SET current_epoch = current_epoch + 1, epoch_started_at = ? WHERE id = ?",
                [.integer(StoredTime.endOfHour(now)), .text(room)])
        guard let epoch = try self.room(room)?.currentEpoch else { throw StoreError.notFound("room \(room)") }
        return epoch
    }

    /// Sets how often `room` moves to a new epoch on its own (nil: only on removals and bans).
    public func setRotation(room: String, seconds: Int64?, now: Int64) throws {
        try run("UPDATE rooms SET rotation_seconds = ?, epoch_started_at = ? WHERE id = ?",
                [seconds.map(StoreValue.integer) ?? .null, .integer(StoredTime.endOfHour(now)), .text(room)])
        guard connection.changes == 1 else { throw StoreError.notFound("room \(room)") }
    }

    /// Open rooms whose current epoch is older than their rotation period.
    public func roomsDueForRotation(now: Int64) throws -> [String] {
        try run("""
            SELECT id FROM rooms WHERE archived_at IS NULL AND rotation_seconds IS NOT NULL AND epoch_started_at + rotation_seconds <= ?
            """, [.integer(now)]).map { $0[0].text }
    }

    /// The rooms `member` belongs to.
    public func roomsOf(member: [UInt8]) throws -> [String] {
        try run("SELECT room FROM room_members WHERE member = ?", [.blob(member)]).map { $0[0].text }
    }

    /// Every bundle of `room` at `epoch` (sealed to anyone), in the order they were stored.
    public func keyBundles(room: String, epoch: Int64) throws -> [[UInt8]] {
        try run("SELECT bundle FROM key_bundles WHERE room = ? AND epoch = ? ORDER BY id", [.text(room), .integer(epoch)]).map { $0[0].blob }
    }

    /// The bundles of `room`'s `epoch` that `sealer` sealed, oldest first.
    public func keyBundles(room: String, epoch: Int64, sealer: [UInt8]) throws -> [[UInt8]] {
        try run("SELECT bundle FROM key_bundles WHERE room = ? AND epoch = ? AND sealer = ? ORDER BY id",
                [.text(room), .integer(epoch), .blob(sealer)]).map { $0[0].blob }
    }

    /// Lifts the sanction an action imposed and returns it.
    ///
    /// - Throws: ``StoreError/notFound(_:)`` when there is no such sanction in force.
    public func liftSanction(actionID: [UInt8]) throws -> SanctionRecord {
        guard let row = try run("SELECT action_id, kind, member, until, room FROM sanctions WHERE action_id = ?", [.blob(actionID)]).first else {
            throw StoreError.notFound("a suspension or ban with that action id")
        }
        try run("DELETE FROM sanctions WHERE action_id = ?", [.blob(actionID)])
        return Self.sanction(row)
    }

    /// Sanctions in force at `now` (expired suspensions are removed on the way).
    public func activeSanctions(now: Int64) throws -> [SanctionRecord] {
        try run("DELETE FROM sanctions WHERE until IS NOT NULL AND until <= ?", [.integer(now)])
        return try run("SELECT action_id, kind, member, until, room FROM sanctions").map(Self.sanction)
    }

    private static func sanction(_ row: [StoreValue]) -> SanctionRecord {
        let until: Int64? = if case .integer(let value) = row[3] { value } else { nil }
        let room: String? = if case .text(let value) = row[4] { value } else { nil }
        return SanctionRecord(actionID: row[0].blob, kind: row[1].text, member: row[2].blob, until: until, room: room)
    }
}
