/// A room or private message to store, as ``HavenStore/append(_:now:completion:)``
/// takes it: on PostgreSQL one statement, which the writer sends pipelined with the batch's others.
public enum MessageAppend: Sendable, Equatable {
    /// A room envelope, stored once per (sender, message id).
    case room(room: String, sender: [UInt8], messageID: [UInt8], epoch: Int64, envelope: [UInt8])
    /// A private message, stored once per (recipient, message id); unless `recipientKnown` (online
    /// here), it is stored only if the recipient has ever logged in.
    case direct(recipient: [UInt8], messageID: [UInt8], message: [UInt8], recipientKnown: Bool)
}

/// What storing a message did, and the cursor its stream had just before it.
public struct AppendedMessage: Sendable, Equatable {
    /// Stored, or found already stored.
    public let outcome: AppendOutcome
    /// The stream's newest cursor before this message (0 for none): a node that delivered
    /// another cursor last knows it missed some.
    public let previous: Int64

    /// Creates a record.
    public init(outcome: AppendOutcome, previous: Int64) {
        self.outcome = outcome
        self.previous = previous
    }
}

extension StoreDatabase {
    /// Stores `message` with one statement after another (the stream's newest cursor read
    /// first); nil when it is private and its recipient has never logged in.
    public func append(_ message: MessageAppend, now: Int64) throws -> AppendedMessage? {
        switch message {
        case .room(let room, let sender, let messageID, let epoch, let envelope):
            let previous = try latestRoomCursor(room: room)
            let outcome = try appendRoomMessage(room: room, sender: sender, messageID: messageID, epoch: epoch, envelope: envelope, now: now)
            return AppendedMessage(outcome: outcome, previous: previous)
        case .direct(let recipient, let messageID, let message, let recipientKnown):
            guard try recipientKnown || memberExists(recipient) else { return nil }
            let previous = try latestDirectCursor(recipient: recipient)
            let outcome = try appendDirectMessage(recipient: recipient, messageID: messageID, message: message, now: now)
            return AppendedMessage(outcome: outcome, previous: previous)
        }
    }

    /// `message` as one PostgreSQL statement doing what ``append(_:now:)`` does: its one row is
    /// read by ``appended(from:)``.
    ///
    /// Every part of a statement sees the database as it was before the statement, with what
    /// earlier statements of the same transaction wrote: the previous cursor and a duplicate's
    /// cursor are read as the separate statements read them.
    static func postgresStatement(for message: MessageAppend, now: Int64) -> (sql: String, values: [StoreValue]) {
        let hour = StoredTime.coarse(now)
        switch message {
        case .room(let room, let sender, let messageID, let epoch, let envelope):
            return ("""
                WITH inserted AS (
                    INSERT INTO room_messages (room, sender, message_id, epoch, envelope, created_at)
                    VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT DO NOTHING RETURNING cursor)
                SELECT TRUE,
                       (SELECT cursor FROM inserted),
                       (SELECT cursor FROM room_messages WHERE sender = ?2 AND message_id = ?3 AND room = ?1),
                       (SELECT COALESCE(MAX(cursor), 0) FROM room_messages WHERE room = ?1)
                """, [.text(room), .blob(sender), .blob(messageID), .integer(epoch), .blob(envelope), .integer(hour)])
        case .direct(let recipient, let messageID, let message, let recipientKnown):
            // Numbered as appendDirectMessage numbers them.
            return ("""
                WITH previous AS (
                    SELECT cursor FROM direct_messages WHERE recipient = ?1 ORDER BY cursor DESC LIMIT 1),
                known AS (
                    SELECT CAST(?6 AS boolean) OR EXISTS (SELECT 1 FROM members WHERE id = ?1) AS known),
                inserted AS (
                    INSERT INTO direct_messages (seq, recipient, cursor, message_id, message, created_at)
                    SELECT GREATEST(COALESCE((SELECT MAX(seq) FROM direct_messages), 0) + 1, ?5),
                           ?1, GREATEST(COALESCE((SELECT cursor FROM previous) + 1, 1), ?5),
                           CAST(?2 AS bytea), CAST(?3 AS bytea), CAST(?4 AS bigint)
                    FROM known WHERE known
                    ON CONFLICT DO NOTHING RETURNING cursor)
                SELECT (SELECT known FROM known),
                       (SELECT cursor FROM inserted),
                       (SELECT cursor FROM direct_messages WHERE recipient = ?1 AND message_id = ?2),
                       COALESCE((SELECT cursor FROM previous), 0)
                """, [.blob(recipient), .blob(messageID), .blob(message), .integer(hour),
                      .integer((hour / StoredTime.precision) << 20), .integer(recipientKnown ? 1 : 0)])
        }
    }

    /// What ``postgresStatement(for:now:)``'s row says: nil for an unknown recipient.
    ///
    /// - Throws: ``StoreError/conflict(_:)`` for a room message whose sender used its id in
    ///   another room (neither stored nor found); ``StoreError/noRow(operation:)`` for no row.
    static func appended(from rows: [[StoreValue]]) throws -> AppendedMessage? {
        guard let row = rows.first, row.count == 4 else { throw StoreError.noRow(operation: "store a message") }
        guard row[0] == .integer(1) else { return nil }
        let outcome: AppendOutcome
        switch (row[1], row[2]) {
        case (.integer(let cursor), _): outcome = .stored(cursor: cursor)
        case (.null, .integer(let cursor)): outcome = .duplicate(cursor: cursor)
        default: throw StoreError.conflict(idUsedInAnotherRoom)
        }
        return AppendedMessage(outcome: outcome, previous: row[3].integer)
    }
}
