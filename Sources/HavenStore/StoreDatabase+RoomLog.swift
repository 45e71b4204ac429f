extension StoreDatabase {
    /// Appends a verified entry to a room's log. An `epoch` entry also makes `epoch` the room's
    /// current epoch.
    ///
    /// - Throws: ``StoreError/conflict(_:)`` when the position is taken (the log is append-only).
    public func appendRoomLog(room: String, seq: Int64, kind: String, entry: [UInt8], epoch: Int64?, now: Int64) throws {
        try run("INSERT INTO room_log (room, seq, kind, entry, created_at) VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
                [.text(room), .integer(seq), .text(kind), .blob(entry), .integer(StoredTime.coarse(now))])
        guard connection.changes == 1 else { throw StoreError.conflict("room log position \(seq) is taken") }
        if let epoch {
            try run("UPDATE rooms SET current_epoch = ?, epoch_started_at = ? WHERE id = ?",
                    [.integer(epoch), .integer(StoredTime.endOfHour(now)), .text(room)])
        }
    }

    /// The room's log entries from position `from` on, oldest first, up to about `maxBytes`
    /// (at least one), and whether more follow.
    public func roomLogPage(room: String, from seq: Int64, maxBytes: Int) throws -> (entries: [[UInt8]], more: Bool) {
        var entries: [[UInt8]] = []
        var size = 0
        var next = seq
        while true {
            let batch = try roomLog(room: room, from: next, limit: 256)
            for entry in batch {
                if !entries.isEmpty, size + entry.count > maxBytes { return (entries, true) }
                entries.append(entry)
                size += entry.count
            }
            guard batch.count == 256 else { return (entries, false) }
            next += 256
        }
    }

    /// The room's log entries from position `from` on, oldest first, at most `limit`.
    public func roomLog(room: String, from seq: Int64, limit: Int) throws -> [[UInt8]] {
        try run("SELECT entry FROM room_log WHERE room = ? AND seq >= ? ORDER BY seq LIMIT ?",
                [.text(room), .integer(seq), .integer(Int64(limit))]).map { $0[0].blob }
    }

    /// The position of the room's latest `epoch` entry (its checkpoint), or nil for an empty log.
    public func roomLogCheckpoint(room: String) throws -> Int64? {
        let row = try run("SELECT MAX(seq) FROM room_log WHERE room = ? AND kind = 'epoch'", [.text(room)]).first?.first
        if case .integer(let seq)? = row { return seq }
        return nil
    }
}
