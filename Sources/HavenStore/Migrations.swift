/// The store's schema, as numbered migrations applied in order. `PRAGMA user_version` records
/// how many have run; a database newer than this code is refused rather than guessed at.
enum Migrations {
    static let all: [String] = [
        """
        CREATE TABLE members (
            id BLOB PRIMARY KEY,
            display_name TEXT NOT NULL,
            created_at INTEGER NOT NULL,
            last_seen_at INTEGER NOT NULL
        ) WITHOUT ROWID;
        CREATE TABLE rooms (
            id TEXT PRIMARY KEY,
            name TEXT NOT NULL,
            kind TEXT NOT NULL DEFAULT 'support',
            current_epoch INTEGER NOT NULL DEFAULT 0,
            created_at INTEGER NOT NULL,
            archived_at INTEGER
        );
        CREATE TABLE room_members (
            room TEXT NOT NULL REFERENCES rooms(id),
            member BLOB NOT NULL,
            joined_at INTEGER NOT NULL,
            PRIMARY KEY (room, member)
        ) WITHOUT ROWID;
        CREATE TABLE room_messages (
            cursor INTEGER PRIMARY KEY AUTOINCREMENT,
            room TEXT NOT NULL REFERENCES rooms(id),
            sender BLOB NOT NULL,
            message_id BLOB NOT NULL,
            epoch INTEGER NOT NULL,
            envelope BLOB NOT NULL,
            created_at INTEGER NOT NULL,
            UNIQUE (sender, message_id)
        );
        CREATE INDEX room_messages_by_room ON room_messages (room, cursor);
        CREATE TABLE direct_messages (
            cursor INTEGER PRIMARY KEY AUTOINCREMENT,
            sender BLOB NOT NULL,
            recipient BLOB NOT NULL,
            message_id BLOB NOT NULL,
            message BLOB NOT NULL,
            created_at INTEGER NOT NULL,
            UNIQUE (sender, message_id)
        );
        CREATE INDEX direct_messages_by_recipient ON direct_messages (recipient, cursor);
        CREATE TABLE key_bundles (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            room TEXT NOT NULL REFERENCES rooms(id),
            epoch INTEGER NOT NULL,
            recipient BLOB NOT NULL,
            sealer BLOB NOT NULL,
            bundle BLOB NOT NULL,
            created_at INTEGER NOT NULL,
            UNIQUE (room, epoch, recipient)
        );
        CREATE INDEX key_bundles_by_recipient ON key_bundles (recipient, room, epoch);
        """,
        """
        ALTER TABLE rooms ADD COLUMN retention_seconds INTEGER;
        CREATE TABLE retention_policies (
            kind TEXT PRIMARY KEY,
            seconds INTEGER NOT NULL
        ) WITHOUT ROWID;
        CREATE INDEX room_messages_by_age ON room_messages (created_at);
        CREATE INDEX direct_messages_by_age ON direct_messages (created_at);
        CREATE INDEX members_by_last_seen ON members (last_seen_at);
        """,
        """
        CREATE TABLE invites (
            id BLOB PRIMARY KEY,
            role TEXT NOT NULL,
            certificate BLOB NOT NULL,
            note TEXT NOT NULL DEFAULT '',
            created_at INTEGER NOT NULL,
            expires_at INTEGER NOT NULL,
            used_at INTEGER,
            used_by BLOB,
            revoked_at INTEGER
        ) WITHOUT ROWID;
        CREATE TABLE staff (
            member BLOB PRIMARY KEY,
            role TEXT NOT NULL,
            certificate BLOB NOT NULL,
            created_at INTEGER NOT NULL
        ) WITHOUT ROWID;
        """,
        """
        CREATE TABLE moderation_log (
            seq INTEGER PRIMARY KEY AUTOINCREMENT,
            id BLOB NOT NULL UNIQUE,
            kind TEXT NOT NULL,
            room TEXT,
            moderator BLOB NOT NULL,
            target BLOB,
            action BLOB NOT NULL,
            created_at INTEGER NOT NULL
        );
        CREATE INDEX moderation_log_by_room ON moderation_log (room, seq);
        CREATE INDEX moderation_log_by_age ON moderation_log (created_at);
        CREATE TRIGGER moderation_log_append_only BEFORE UPDATE ON moderation_log
        BEGIN SELECT RAISE(ABORT, 'the moderation log is append-only'); END;
        CREATE TABLE sanctions (
            action_id BLOB PRIMARY KEY,
            kind TEXT NOT NULL,
            member BLOB NOT NULL,
            until INTEGER,
            created_at INTEGER NOT NULL
        ) WITHOUT ROWID;
        CREATE INDEX sanctions_by_member ON sanctions (member);
        """,
        """
        ALTER TABLE sanctions ADD COLUMN room TEXT;
        """,
        """
        CREATE TABLE reports (
            id BLOB PRIMARY KEY,
            reporter BLOB NOT NULL,
            sender BLOB NOT NULL,
            message_id BLOB NOT NULL,
            room TEXT,
            category TEXT NOT NULL,
            report BLOB NOT NULL,
            created_at INTEGER NOT NULL
        ) WITHOUT ROWID;
        CREATE INDEX reports_by_age ON reports (created_at);
        """,
        """
        ALTER TABLE rooms ADD COLUMN rotation_seconds INTEGER;
        ALTER TABLE rooms ADD COLUMN epoch_started_at INTEGER NOT NULL DEFAULT 0;
        CREATE TABLE appointments (
            member BLOB PRIMARY KEY,
            action BLOB NOT NULL,
            appointed_by BLOB NOT NULL
        ) WITHOUT ROWID;
        """,
        """
        CREATE TABLE blobs (
            id BLOB PRIMARY KEY,
            owner BLOB NOT NULL,
            data BLOB NOT NULL,
            created_at INTEGER NOT NULL
        ) WITHOUT ROWID;
        CREATE INDEX blobs_by_age ON blobs (created_at);
        """,
        // 9: that a call happened, kept only when the operator turns call auditing on.
        """
        CREATE TABLE call_log (
            seq INTEGER PRIMARY KEY AUTOINCREMENT,
            caller BLOB NOT NULL,
            callee BLOB NOT NULL,
            started_at INTEGER NOT NULL,
            ended_at INTEGER NOT NULL
        );
        CREATE INDEX call_log_by_age ON call_log (started_at);
        """,
        // 10: each room's signed, hash-chained log (membership and epochs), append-only. Existing
        // rooms start with an empty log and move onto it at their next epoch. Key bundles are kept
        // one per sealer, so a member who seals a wrong key first cannot crowd out the right one.
        """
        CREATE TABLE room_log (
            room TEXT NOT NULL REFERENCES rooms(id),
            seq INTEGER NOT NULL,
            kind TEXT NOT NULL,
            entry BLOB NOT NULL,
            created_at INTEGER NOT NULL,
            PRIMARY KEY (room, seq)
        ) WITHOUT ROWID;
        CREATE INDEX room_log_checkpoints ON room_log (room, kind, seq);
        CREATE TRIGGER room_log_append_only BEFORE UPDATE ON room_log
        BEGIN SELECT RAISE(ABORT, 'the room log is append-only'); END;
        CREATE TABLE key_bundles_by_sealer (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            room TEXT NOT NULL REFERENCES rooms(id),
            epoch INTEGER NOT NULL,
            recipient BLOB NOT NULL,
            sealer BLOB NOT NULL,
            bundle BLOB NOT NULL,
            created_at INTEGER NOT NULL,
            UNIQUE (room, epoch, recipient, sealer)
        );
        INSERT INTO key_bundles_by_sealer SELECT id, room, epoch, recipient, sealer, bundle, created_at FROM key_bundles;
        DROP TABLE key_bundles;
        ALTER TABLE key_bundles_by_sealer RENAME TO key_bundles;
        CREATE INDEX key_bundles_by_recipient ON key_bundles (recipient, room, epoch);
        """,
        """
        CREATE TABLE staff_roster (
            only INTEGER PRIMARY KEY CHECK (only = 1),
            sequence INTEGER NOT NULL,
            roster BLOB NOT NULL
        );
        """,
        // 12: each attachment's size, so quotas are summed from an index and never read the data.
        """
        ALTER TABLE blobs ADD COLUMN size INTEGER NOT NULL DEFAULT 0;
        UPDATE blobs SET size = length(data);
        CREATE INDEX blobs_by_owner ON blobs (owner, size);
        """,
        // 13: attachments in parts of 64 KiB, so a download reads one part at a time; a part goes
        // with its attachment, whichever way that is deleted.
        """
        CREATE TABLE blob_parts (
            blob BLOB NOT NULL,
            part INTEGER NOT NULL,
            data BLOB NOT NULL,
            PRIMARY KEY (blob, part)
        );
        INSERT INTO blob_parts (blob, part, data)
            WITH RECURSIVE parts (id, part) AS (
                SELECT id, 0 FROM blobs
                UNION ALL
                SELECT parts.id, parts.part + 1 FROM parts JOIN blobs ON blobs.id = parts.id
                WHERE (parts.part + 1) * 65536 < blobs.size
            )
            SELECT parts.id, parts.part, substr(blobs.data, parts.part * 65536 + 1, 65536)
            FROM parts JOIN blobs ON blobs.id = parts.id;
        ALTER TABLE blobs DROP COLUMN data;
        CREATE TRIGGER blob_parts_go_with_their_blob AFTER DELETE ON blobs
        BEGIN
            DELETE FROM blob_parts WHERE blob = old.id;
        END;
        """,
        // 14: sealed senders. A direct message row keeps no sender, and its cursor counts in its
        // recipient's history only (no order across recipients): one is stored once per
        // (recipient, message id), kept where it was, and new cursors start above every old one.
        """
        CREATE TABLE direct_messages_sealed (
            recipient BLOB NOT NULL,
            cursor INTEGER NOT NULL,
            message_id BLOB NOT NULL,
            message BLOB NOT NULL,
            created_at INTEGER NOT NULL,
            PRIMARY KEY (recipient, cursor),
            UNIQUE (recipient, message_id)
        ) WITHOUT ROWID;
        INSERT OR IGNORE INTO direct_messages_sealed (recipient, cursor, message_id, message, created_at)
            SELECT recipient, cursor, message_id, message, created_at FROM direct_messages ORDER BY cursor;
        DROP TABLE direct_messages;
        ALTER TABLE direct_messages_sealed RENAME TO direct_messages;
        CREATE INDEX direct_messages_by_age ON direct_messages (created_at);
        """,
        // 15: coarse times. An identity keeps the hour it was last seen, not when it was first;
        // room membership keeps no join time; what only retention reads is kept to the hour.
        """
        ALTER TABLE members DROP COLUMN created_at;
        ALTER TABLE room_members DROP COLUMN joined_at;
        UPDATE members SET last_seen_at = last_seen_at - last_seen_at % 3600;
        UPDATE room_messages SET created_at = created_at - created_at % 3600;
        UPDATE direct_messages SET created_at = created_at - created_at % 3600;
        UPDATE key_bundles SET created_at = created_at - created_at % 3600;
        UPDATE blobs SET created_at = created_at - created_at % 3600;
        UPDATE room_log SET created_at = created_at - created_at % 3600;
        """,
        // 16: private messages appended in the order they arrive. Ordering the rows by recipient
        // (14) did not hide that order: page numbers in the file follow the writes. It made every
        // insert land inside the table (and, rows being larger than an index page may hold, on
        // a page of its own), four times the cost of an append. Cursors still count in each
        // recipient's history alone. The index on the hour (appended to as well) lets a purge
        // find exactly what expired, whatever a clock that once ran ahead stamped.
        """
        CREATE TABLE direct_messages_appended (
            seq INTEGER PRIMARY KEY,
            recipient BLOB NOT NULL,
            cursor INTEGER NOT NULL,
            message_id BLOB NOT NULL,
            message BLOB NOT NULL,
            created_at INTEGER NOT NULL
        );
        INSERT INTO direct_messages_appended (recipient, cursor, message_id, message, created_at)
            SELECT recipient, cursor, message_id, message, created_at FROM direct_messages ORDER BY created_at, recipient, cursor;
        DROP TABLE direct_messages;
        ALTER TABLE direct_messages_appended RENAME TO direct_messages;
        CREATE UNIQUE INDEX direct_messages_by_cursor ON direct_messages (recipient, cursor);
        CREATE UNIQUE INDEX direct_messages_by_id ON direct_messages (recipient, message_id);
        CREATE INDEX direct_messages_by_age ON direct_messages (created_at);
        """,
        // 17: the day's key nodes hash visitors' addresses with, agreed through the database they
        // share (one node alone keeps its own in memory).
        """
        CREATE TABLE address_keys (day INTEGER PRIMARY KEY, key BLOB NOT NULL);
        """,
    ]

    /// Brings `connection` up to the latest schema, each migration in its own transaction.
    ///
    /// - Throws: ``StoreError/schemaTooNew(found:supported:)`` for a database from a newer Haven.
    static func apply(to connection: SQLiteConnection, upTo version: Int = all.count) throws {
        guard case .integer(let found)? = try connection.prepare("PRAGMA user_version").query().first?.first else {
            throw StoreError.noRow(operation: "read schema version")
        }
        guard found <= all.count else { throw StoreError.schemaTooNew(found: Int(found), supported: all.count) }
        for (index, migration) in all.enumerated().prefix(version).dropFirst(Int(found)) {
            try connection.execute("BEGIN IMMEDIATE")
            do {
                try connection.execute(migration)
                try connection.execute("PRAGMA user_version = \(index + 1)")
                try connection.execute("COMMIT")
            } catch {
                try? connection.execute("ROLLBACK")
                throw error
            }
        }
    }
}
