/// Haven's queries, over one SQLite or PostgreSQL connection. Owned by the store's writer
/// thread: reach it only through ``HavenStore/perform(_:completion:)``.
public final class StoreDatabase {
    let connection: any StoreConnection

    init(connection: any StoreConnection) {
        self.connection = connection
    }

    /// The engine underneath.
    public var engine: StoreEngine { connection.engine }

    /// Runs `sql` with `values` through a statement prepared once and cached.
    /// With `isEnough`, it stops reading rows once those read are enough.
    @discardableResult
    func run(_ sql: String, _ values: [StoreValue] = [], until isEnough: ([[StoreValue]]) -> Bool = { _ in false }) throws -> [[StoreValue]] {
        try connection.run(sql, values, until: isEnough)
    }

    /// Reads `sql`'s (cursor, bytes) rows until `maxBytes` of bytes are read (at least one row).
    private func storedItems(_ sql: String, _ values: [StoreValue], maxBytes: Int) throws -> [StoredItem] {
        var bytes = 0
        return try run(sql, values) { rows in
            bytes += rows.last.map { $0[1].blob.count } ?? 0
            return bytes >= maxBytes
        }.map { StoredItem(cursor: $0[0].integer, bytes: $0[1].blob) }
    }

    // MARK: Members

    /// Records a member (or refreshes their display name and the hour they were last seen).
    public func upsertMember(_ member: [UInt8], displayName: String, now: Int64) throws {
        try run("""
            INSERT INTO members (id, display_name, last_seen_at) VALUES (?, ?, ?)
            ON CONFLICT (id) DO UPDATE SET display_name = excluded.display_name, last_seen_at = excluded.last_seen_at
            """, [.blob(member), .text(displayName), .integer(StoredTime.coarse(now))])
    }

    /// Whether the server has seen `member` log in.
    public func memberExists(_ member: [UInt8]) throws -> Bool {
        try !run("SELECT 1 FROM members WHERE id = ?", [.blob(member)]).isEmpty
    }

    // MARK: Rooms

    /// Creates a room unless it exists; returns true when it was created.
    @discardableResult
    public func createRoom(id: String, name: String, kind: String, now: Int64) throws -> Bool {
        try run("INSERT INTO rooms (id, name, kind, created_at) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING",
                [.text(id), .text(name), .text(kind), .integer(now)])
        return connection.changes == 1
    }

    /// Every room, archived ones included, by id.
    public func rooms() throws -> [RoomRecord] {
        try run("SELECT id, name, kind, current_epoch, CASE WHEN archived_at IS NULL THEN 0 ELSE 1 END, retention_seconds FROM rooms ORDER BY id").map(Self.room)
    }

    /// One room, or nil.
    public func room(_ id: String) throws -> RoomRecord? {
        try run("SELECT id, name, kind, current_epoch, CASE WHEN archived_at IS NULL THEN 0 ELSE 1 END, retention_seconds FROM rooms WHERE id = ?", [.text(id)])
            .first.map(Self.room)
    }

    private static func room(_ row: [StoreValue]) -> RoomRecord {
        let retention: Int64?? = switch row[5] {
        case .integer(let seconds): .some(seconds < 0 ? nil : seconds)
        default: nil
        }
        return RoomRecord(
            id: row[0].text, name: row[1].text, kind: row[2].text, currentEpoch: row[3].integer, isArchived: row[4].integer != 0,
            ownRetentionSeconds: retention)
    }

    /// Archives a room: hidden from listings, closed to joins and posts, its data kept until retention.
    public func archiveRoom(_ id: String, now: Int64) throws {
        try run("UPDATE rooms SET archived_at = ? WHERE id = ? AND archived_at IS NULL", [.integer(now), .text(id)])
        guard connection.changes == 1 else {
            throw try room(id) == nil ? StoreError.notFound("room \(id)") : StoreError.conflict("room \(id) is already archived")
        }
    }

    /// Records that `member` is in `room` (not since when).
    public func addRoomMember(room: String, member: [UInt8]) throws {
        try run("INSERT INTO room_members (room, member) VALUES (?, ?) ON CONFLICT DO NOTHING", [.text(room), .blob(member)])
    }

    /// Records that `member` left `room`, and forgets the bundles that gave them its current key.
    public func removeRoomMember(room: String, member: [UInt8]) throws {
        try run("DELETE FROM room_members WHERE room = ? AND member = ?", [.text(room), .blob(member)])
        try forgetCurrentKey(room: room, recipient: member)
    }

    /// Whether `member` is a member of `room`.
    public func isRoomMember(room: String, member: [UInt8]) throws -> Bool {
        try !run("SELECT 1 FROM room_members WHERE room = ? AND member = ?", [.text(room), .blob(member)]).isEmpty
    }

    // MARK: Room messages

    /// Why a room message whose sender used its id in another room is refused.
    static let idUsedInAnotherRoom = "this message id was already used in another room"

    /// Stores a room envelope once per (sender, message id).
    ///
    /// - Throws: ``StoreError/conflict(_:)`` when the sender used the id in another room (it is
    ///   not that message again, and is not stored).
    public func appendRoomMessage(
        room: String, sender: [UInt8], messageID: [UInt8], epoch: Int64, envelope: [UInt8], now: Int64
    ) throws -> AppendOutcome {
        let stored = try run("""
            INSERT INTO room_messages (room, sender, message_id, epoch, envelope, created_at)
            VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING RETURNING cursor
            """, [.text(room), .blob(sender), .blob(messageID), .integer(epoch), .blob(envelope), .integer(StoredTime.coarse(now))])
        if let cursor = stored.first?.first?.integer { return .stored(cursor: cursor) }
        let existing = try run("SELECT cursor FROM room_messages WHERE sender = ? AND message_id = ? AND room = ?", [.blob(sender), .blob(messageID), .text(room)])
        guard let cursor = existing.first?.first?.integer else { throw StoreError.conflict(Self.idUsedInAnotherRoom) }
        return .duplicate(cursor: cursor)
    }

    /// Up to `limit` envelopes stored in `room` after `cursor`, oldest first, and no more once
    /// `maxBytes` of them are read (one at least, whatever its size).
    public func roomMessages(room: String, after cursor: Int64, limit: Int, maxBytes: Int = .max) throws -> [StoredItem] {
        try storedItems("SELECT cursor, envelope FROM room_messages WHERE room = ? AND cursor > ? ORDER BY cursor LIMIT ?",
                        [.text(room), .integer(cursor), .integer(Int64(limit))], maxBytes: maxBytes)
    }

    /// The newest cursor in `room`, or 0 when it has no messages.
    public func latestRoomCursor(room: String) throws -> Int64 {
        try run("SELECT COALESCE(MAX(cursor), 0) FROM room_messages WHERE room = ?", [.text(room)]).first?.first?.integer ?? 0
    }

    // MARK: Direct messages

    /// Stores a direct message once per (recipient, message id): its sender is sealed inside and
    /// never stored.
    ///
    /// Its cursor counts in the recipient's history alone, so cursors say nothing of the order in
    /// which different members were written to: one more than the recipient's last, and at least
    /// the hour's own start (its number times 2^20), so a cursor is never handed out twice even
    /// after retention purged every message a recipient had. (The last is looked up with
    /// `ORDER BY ... LIMIT 1`, which reads one index entry; `MAX()` inside an expression would
    /// read every message the recipient has.) The row itself is appended, numbered from the
    /// hour's start too, so the numbers left after a purge do not count every message ever stored.
    public func appendDirectMessage(recipient: [UInt8], messageID: [UInt8], message: [UInt8], now: Int64) throws -> AppendOutcome {
        let hour = StoredTime.coarse(now)
        // SQLite's two-argument MAX is PostgreSQL's GREATEST.
        let greatest = connection.engine == .sqlite ? "MAX" : "GREATEST"
        let stored = try run("""
            INSERT INTO direct_messages (seq, recipient, cursor, message_id, message, created_at)
            VALUES (\(greatest)(COALESCE((SELECT MAX(seq) FROM direct_messages), 0) + 1, ?5),
                    ?1, \(greatest)(COALESCE((SELECT cursor FROM direct_messages WHERE recipient = ?1 ORDER BY cursor DESC LIMIT 1) + 1, 1), ?5),
                    ?2, ?3, ?4)
            ON CONFLICT DO NOTHING RETURNING cursor
            """, [.blob(recipient), .blob(messageID), .blob(message), .integer(hour), .integer((hour / StoredTime.precision) << 20)])
        if let cursor = stored.first?.first?.integer { return .stored(cursor: cursor) }
        let existing = try run("SELECT cursor FROM direct_messages WHERE recipient = ? AND message_id = ?", [.blob(recipient), .blob(messageID)])
        guard let cursor = existing.first?.first?.integer else { throw StoreError.noRow(operation: "find duplicate direct message") }
        return .duplicate(cursor: cursor)
    }

    /// Up to `limit` direct messages to `recipient` after `cursor`, oldest first, and no more
    /// once `maxBytes` of them are read (one at least).
    public func directMessages(recipient: [UInt8], after cursor: Int64, limit: Int, maxBytes: Int = .max) throws -> [StoredItem] {
        try storedItems("SELECT cursor, message FROM direct_messages WHERE recipient = ? AND cursor > ? ORDER BY cursor LIMIT ?",
                        [.blob(recipient), .integer(cursor), .integer(Int64(limit))], maxBytes: maxBytes)
    }

    /// The newest direct-message cursor for `recipient`, or 0.
    public func latestDirectCursor(recipient: [UInt8]) throws -> Int64 {
        try run("SELECT COALESCE(MAX(cursor), 0) FROM direct_messages WHERE recipient = ?", [.blob(recipient)]).first?.first?.integer ?? 0
    }

    // MARK: Epoch key bundles

    /// Stores a bundle unless the same sealer already sealed this room's epoch to this recipient;
    /// true when stored. Several members may seal a key to the same recipient: the recipient
    /// keeps the one that opens the epoch's commitment.
    @discardableResult
    public func storeKeyBundle(
        room: String, epoch: Int64, recipient: [UInt8], sealer: [UInt8], bundle: [UInt8], now: Int64
    ) throws -> Bool {
        try run("""
            INSERT INTO key_bundles (room, epoch, recipient, sealer, bundle, created_at) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING
            """, [.text(room), .integer(epoch), .blob(recipient), .blob(sealer), .blob(bundle), .integer(StoredTime.coarse(now))])
        return connection.changes == 1
    }

    /// The bundles addressed to `recipient` in `room`, oldest epoch first.
    public func keyBundles(room: String, recipient: [UInt8]) throws -> [[UInt8]] {
        try run("SELECT bundle FROM key_bundles WHERE room = ? AND recipient = ? ORDER BY epoch, id",
                [.text(room), .blob(recipient)]).map { $0[0].blob }
    }

    /// Who `sealer` sealed `room`'s `epoch` key to.
    public func keyRecipients(room: String, epoch: Int64, sealer: [UInt8]) throws -> [[UInt8]] {
        try run("SELECT recipient FROM key_bundles WHERE room = ? AND epoch = ? AND sealer = ? ORDER BY id",
                [.text(room), .integer(epoch), .blob(sealer)]).map { $0[0].blob }
    }

    /// Who holds a bundle for `room` at `epoch` (recipients, in the order they were given one).
    public func keyHolders(room: String, epoch: Int64) throws -> [[UInt8]] {
        try run("SELECT recipient FROM key_bundles WHERE room = ? AND epoch = ? GROUP BY recipient ORDER BY MIN(id)", [.text(room), .integer(epoch)])
            .map { $0[0].blob }
    }
}
