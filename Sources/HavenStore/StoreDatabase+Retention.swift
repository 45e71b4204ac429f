extension StoreDatabase {
    /// The retention periods in force.
    public func retentionPolicy() throws -> RetentionPolicy {
        var periods: [RetentionKind: Int64?] = [:]
        for row in try run("SELECT kind, seconds FROM retention_policies") {
            guard let kind = RetentionKind(rawValue: row[0].text) else { continue }
            periods[kind] = row[1].integer < 0 ? .some(nil) : .some(row[1].integer)
        }
        var rooms: [String: Int64?] = [:]
        for row in try run("SELECT id, retention_seconds FROM rooms WHERE retention_seconds IS NOT NULL") {
            rooms[row[0].text] = row[1].integer < 0 ? .some(nil) : .some(row[1].integer)
        }
        return RetentionPolicy(periods: periods, rooms: rooms)
    }

    /// Sets the period for `kind` (nil keeps it forever).
    ///
    /// - Throws: ``StoreError/conflict(_:)`` for a private-message period under an hour: a
    ///   recipient's cursors count from the start of the hour, so a purge within the same hour
    ///   could hand the same cursor out again.
    public func setRetention(_ kind: RetentionKind, seconds: Int64?) throws {
        if kind == .directMessages, let seconds, seconds < StoredTime.precision {
            throw StoreError.conflict("direct_messages are kept at least an hour (times are kept to the hour)")
        }
        try run("INSERT INTO retention_policies (kind, seconds) VALUES (?, ?) ON CONFLICT (kind) DO UPDATE SET seconds = excluded.seconds",
                [.text(kind.rawValue), .integer(seconds ?? -1)])
    }

    /// Sets a room's own room-message period (nil keeps them forever); `reset` returns the room to the default.
    public func setRoomRetention(room: String, seconds: Int64?, reset: Bool = false) throws {
        try run("UPDATE rooms SET retention_seconds = ? WHERE id = ?", [reset ? .null : .integer(seconds ?? -1), .text(room)])
        guard connection.changes == 1 else { throw StoreError.notFound("room \(room)") }
    }

    /// Deletes (or, with `dryRun`, counts) at most `limit` expired rows of each kind.
    ///
    /// Rows are deleted with `secure_delete` on, so their bytes are overwritten in the database
    /// file; ``reclaimSpace()`` then checkpoints the WAL and frees the pages.
    public func purgeExpired(now: Int64, limit: Int, dryRun: Bool = false) throws -> PurgeReport {
        let policy = try retentionPolicy()
        var report = PurgeReport()
        // Each row `select` finds (its key columns) is deleted by every statement of `delete`,
        // which take that row's values.
        func purge(_ kind: RetentionKind, select: String, _ values: [StoreValue], delete: [String]) throws {
            let rows = try run(select + " LIMIT \(limit)", values)
            guard !rows.isEmpty else { return }
            if !dryRun {
                for statement in delete {
                    for row in rows { try run(statement, row) }
                }
            }
            report.deleted[kind, default: 0] += rows.count
            if rows.count == limit { report.hasMore = true }
        }
        let roomDefault = policy.seconds(for: .roomMessages).map { now - $0 } ?? Int64.min
        // A room's own period (-1: forever) overrides the default for its messages.
        try purge(.roomMessages, select: """
            SELECT m.cursor FROM room_messages m JOIN rooms r ON r.id = m.room
            WHERE (r.retention_seconds IS NULL AND m.created_at < ?)
               OR (r.retention_seconds >= 0 AND m.created_at < ? - r.retention_seconds)
            """, [.integer(roomDefault), .integer(now)], delete: ["DELETE FROM room_messages WHERE cursor = ?"])
        if let seconds = policy.seconds(for: .directMessages) {
            try purge(.directMessages, select: "SELECT seq FROM direct_messages WHERE created_at < ?",
                      [.integer(now - seconds)], delete: ["DELETE FROM direct_messages WHERE seq = ?"])
        }
        if let seconds = policy.seconds(for: .keyBundles) {
            try purge(.keyBundles, select: """
                SELECT b.id FROM key_bundles b JOIN rooms r ON r.id = b.room
                WHERE b.epoch < r.current_epoch AND b.created_at < ?
                """, [.integer(now - seconds)], delete: ["DELETE FROM key_bundles WHERE id = ?"])
        }
        if let seconds = policy.seconds(for: .attachments) {
            try purge(.attachments, select: "SELECT id FROM blobs WHERE created_at < ?", [.integer(now - seconds)],
                      delete: ["DELETE FROM blobs WHERE id = ?"])
        }
        if let seconds = policy.seconds(for: .roomLog) {
            // A room's log is compacted at an epoch change: the entries before the newest
            // checkpoint (an `epoch` entry) stored before the period go, so what it keeps of who
            // was in a room reaches back at most to the epoch that was current a period ago. The
            // latest checkpoint and what follows it stay: members verify the log from one on.
            try purge(.roomLog, select: """
                SELECT l.room, l.seq FROM room_log l
                JOIN (SELECT room, MAX(seq) AS start FROM room_log WHERE kind = 'epoch' AND created_at < ? GROUP BY room) c
                    ON c.room = l.room AND l.seq < c.start
                """, [.integer(now - seconds)], delete: ["DELETE FROM room_log WHERE room = ? AND seq = ?"])
        }
        if let seconds = policy.seconds(for: .callLog) {
            try purge(.callLog, select: "SELECT seq FROM call_log WHERE started_at < ?", [.integer(now - seconds)],
                      delete: ["DELETE FROM call_log WHERE seq = ?"])
        }
        if let seconds = policy.seconds(for: .reports) {
            try purge(.reports, select: "SELECT id FROM reports WHERE created_at < ?", [.integer(now - seconds)],
                      delete: ["DELETE FROM reports WHERE id = ?"])
        }
        if let seconds = policy.seconds(for: .moderationLog) {
            try purge(.moderationLog, select: "SELECT seq FROM moderation_log WHERE created_at < ?", [.integer(now - seconds)],
                      delete: ["DELETE FROM moderation_log WHERE seq = ?"])
        }
        if let seconds = policy.seconds(for: .invites) {
            try purge(.invites, select: """
                SELECT id FROM invites WHERE (used_at IS NOT NULL AND used_at < ?1) OR (revoked_at IS NOT NULL AND revoked_at < ?1)
                   OR (expires_at < ?1)
                """, [.integer(now - seconds)], delete: ["DELETE FROM invites WHERE id = ?"])
        }
        if let seconds = policy.seconds(for: .idleIdentities) {
            // An identity gone this long leaves its key nowhere: not in bundles, attachments,
            // sanctions, reports or the moderation log. A ban in force is kept, or the banned
            // identity could simply wait it out (a room's signed log keeps the keys of those who
            // were in it, until the log is compacted).
            try purge(.idleIdentities, select: """
                SELECT id FROM members WHERE last_seen_at < ?1 AND id NOT IN (
                    SELECT member FROM sanctions WHERE kind = 'ban' AND (until IS NULL OR until > ?2))
                """, [.integer(now - seconds), .integer(now)], delete: [
                    "DELETE FROM room_members WHERE member = ?", "DELETE FROM key_bundles WHERE recipient = ?",
                    "DELETE FROM key_bundles WHERE sealer = ?", "DELETE FROM blobs WHERE owner = ?",
                    "DELETE FROM sanctions WHERE member = ?", "DELETE FROM reports WHERE reporter = ?",
                    "DELETE FROM reports WHERE sender = ?", "DELETE FROM moderation_log WHERE target = ?",
                    "DELETE FROM moderation_log WHERE moderator = ?", "DELETE FROM members WHERE id = ?",
                ])
        }
        return report
    }

    /// On SQLite, moves the WAL's content into the database and truncates the WAL file to zero
    /// bytes, then returns free pages to the file system, so deleted bytes are left in neither
    /// file. On PostgreSQL, vacuums: the space of deleted rows is marked for reuse, but their
    /// bytes stay in the table's pages until new rows overwrite them, and in the write-ahead log
    /// and any base backup until those are recycled (docs/operations.md).
    /// Runs outside a transaction (``HavenStore/performOutsideTransaction(_:completion:)``).
    ///
    /// - Throws: ``StoreError/conflict(_:)`` when a reader kept the checkpoint from completing
    ///   (the WAL still holds what was deleted; the caller tries again).
    public func reclaimSpace() throws {
        guard connection.engine == .sqlite else { return try connection.execute("VACUUM") }
        try connection.execute("PRAGMA incremental_vacuum")
        let busy = try run("PRAGMA wal_checkpoint(TRUNCATE)").first?.first?.integer ?? 1
        guard busy == 0 else { throw StoreError.conflict("the WAL could not be checkpointed: a reader held it") }
    }
}
