/// A stored report, with the direct message it concerns when there is one.
public struct ReportRecord: Sendable, Equatable {
    /// The report as the reporter sent it (JSON).
    public let report: [UInt8]
    /// Who reported.
    public let reporter: [UInt8]
    /// The reported direct message as stored, if the report is about one.
    public let directMessage: [UInt8]?
}

extension StoreDatabase {
    /// The stored direct message `messageID` to `recipient`, if it is still kept.
    public func directMessage(messageID: [UInt8], recipient: [UInt8]) throws -> [UInt8]? {
        try run("SELECT message FROM direct_messages WHERE message_id = ? AND recipient = ?",
                [.blob(messageID), .blob(recipient)]).first?.first?.blob
    }

    /// Whether `room` holds the message `messageID` from `sender`.
    public func roomMessageExists(room: String, sender: [UInt8], messageID: [UInt8]) throws -> Bool {
        try !run("SELECT 1 FROM room_messages WHERE sender = ? AND message_id = ? AND room = ?",
                 [.blob(sender), .blob(messageID), .text(room)]).isEmpty
    }

    /// Records a report. - Throws: ``StoreError/conflict(_:)`` for a repeated report id.
    public func addReport(
        id: [UInt8], reporter: [UInt8], sender: [UInt8], messageID: [UInt8], room: String?, category: String, report: [UInt8], now: Int64
    ) throws {
        try run("""
            INSERT INTO reports (id, reporter, sender, message_id, room, category, report, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
            ON CONFLICT DO NOTHING
            """, [.blob(id), .blob(reporter), .blob(sender), .blob(messageID), room.map(StoreValue.text) ?? .null, .text(category),
                  .blob(report), .integer(now)])
        guard connection.changes == 1 else { throw StoreError.conflict("this report was already made") }
    }

    /// The newest reports (older than report `before`, when given), with the direct messages they
    /// concern.
    public func reports(before report: [UInt8]? = nil, limit: Int = 200) throws -> [ReportRecord] {
        try run("""
            SELECT r.report, r.reporter, d.message FROM reports r
            LEFT JOIN direct_messages d ON r.room IS NULL AND d.message_id = r.message_id AND d.recipient = r.reporter
            WHERE ?1 = 0 OR (r.created_at, r.id) < (SELECT created_at, id FROM reports WHERE id = ?3)
            ORDER BY r.created_at DESC, r.id DESC LIMIT ?2
            """, [.integer(report == nil ? 0 : 1), .integer(Int64(limit)), .blob(report ?? [])]).map { row in
            let message: [UInt8]? = if case .blob(let bytes) = row[2] { bytes } else { nil }
            return ReportRecord(report: row[0].blob, reporter: row[1].blob, directMessage: message)
        }
    }
}
