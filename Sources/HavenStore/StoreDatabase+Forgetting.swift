extension StoreDatabase {
    /// Deletes `room` and everything in it: messages, members, key bundles, its log, reports and
    /// moderation records that name it. Rows go with `secure_delete` on; ``reclaimSpace()`` then
    /// takes them out of the WAL.
    ///
    /// - Throws: ``StoreError/notFound(_:)`` when there is no such room.
    public func deleteRoom(_ id: String) throws {
        guard try room(id) != nil else { throw StoreError.notFound("room \(id)") }
        for table in ["room_messages", "room_members", "key_bundles", "room_log", "reports", "moderation_log", "sanctions"] {
            try run("DELETE FROM \(table) WHERE room = ?", [.text(id)])
        }
        try run("DELETE FROM rooms WHERE id = ?", [.text(id)])
    }

    /// Deletes the bundles that gave `recipient` the current epoch key of `room`, once they have
    /// left it: a lasting record that they were there serves nobody (earlier epochs' bundles go
    /// with the `key_bundles` retention period).
    public func forgetCurrentKey(room: String, recipient: [UInt8]) throws {
        try run("""
            DELETE FROM key_bundles WHERE room = ?1 AND recipient = ?2
               AND epoch = (SELECT current_epoch FROM rooms WHERE id = ?1)
            """, [.text(room), .blob(recipient)])
    }
}
