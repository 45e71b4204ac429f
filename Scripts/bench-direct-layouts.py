#!/usr/bin/env python3
"""Durable inserts per second for the private-message table's layouts, with Haven's settings.

    python3 Scripts/bench-direct-layouts.py            # 30,000 messages per layout
    python3 Scripts/bench-direct-layouts.py 100000

Each layout gets a fresh file (WAL, synchronous=FULL, secure_delete=ON, incremental auto-vacuum,
SQLite's own page cache), and the same load: 1.6 KB messages (a short message padded to the
1 KiB floor, as stored) to 1,000 recipients at random, 100 to a transaction, each with its
recipient's next cursor read as Haven's store reads it. It uses Debian's SQLite through Python's
sqlite3, so the figures compare layouts, not Haven's server (`haven bench` measures that).
"""
import os
import random
import sqlite3
import sys
import tempfile
import time

MESSAGE_BYTES = 1650
RECIPIENTS = 1000
PER_TRANSACTION = 100
HOUR_BASE = 494_000 << 20

NEXT_CURSOR = "MAX(COALESCE((SELECT cursor FROM direct_messages WHERE recipient = ?1 ORDER BY cursor DESC LIMIT 1) + 1, 1), ?5)"

LAYOUTS = {
    "ordered by recipient (migration 14)": (
        """CREATE TABLE direct_messages (recipient BLOB NOT NULL, cursor INTEGER NOT NULL, message_id BLOB NOT NULL,
               message BLOB NOT NULL, created_at INTEGER NOT NULL,
               PRIMARY KEY (recipient, cursor), UNIQUE (recipient, message_id)) WITHOUT ROWID;
           CREATE INDEX direct_messages_by_age ON direct_messages (created_at);""",
        f"""INSERT OR IGNORE INTO direct_messages (recipient, cursor, message_id, message, created_at)
            VALUES (?1, {NEXT_CURSOR}, ?2, ?3, ?4) RETURNING cursor"""),
    "appended, no time index": (
        """CREATE TABLE direct_messages (seq INTEGER PRIMARY KEY, recipient BLOB NOT NULL, cursor INTEGER NOT NULL,
               message_id BLOB NOT NULL, message BLOB NOT NULL, created_at INTEGER NOT NULL);
           CREATE UNIQUE INDEX direct_messages_by_cursor ON direct_messages (recipient, cursor);
           CREATE UNIQUE INDEX direct_messages_by_id ON direct_messages (recipient, message_id);""",
        f"""INSERT OR IGNORE INTO direct_messages (recipient, cursor, message_id, message, created_at)
            VALUES (?1, {NEXT_CURSOR}, ?2, ?3, ?4) RETURNING cursor"""),
    "appended, time index (migration 16)": (
        """CREATE TABLE direct_messages (seq INTEGER PRIMARY KEY, recipient BLOB NOT NULL, cursor INTEGER NOT NULL,
               message_id BLOB NOT NULL, message BLOB NOT NULL, created_at INTEGER NOT NULL);
           CREATE UNIQUE INDEX direct_messages_by_cursor ON direct_messages (recipient, cursor);
           CREATE UNIQUE INDEX direct_messages_by_id ON direct_messages (recipient, message_id);
           CREATE INDEX direct_messages_by_age ON direct_messages (created_at);""",
        f"""INSERT OR IGNORE INTO direct_messages (seq, recipient, cursor, message_id, message, created_at)
            VALUES (MAX(COALESCE((SELECT MAX(seq) FROM direct_messages), 0) + 1, ?5), ?1, {NEXT_CURSOR}, ?2, ?3, ?4)
            RETURNING cursor"""),
}


def measure(schema, insert, count, folder):
    path = os.path.join(folder, f"{random.getrandbits(32)}.sqlite")
    database = sqlite3.connect(path, isolation_level=None)
    for pragma in ("auto_vacuum = INCREMENTAL", "journal_mode = WAL", "secure_delete = ON", "synchronous = FULL"):
        database.execute(f"PRAGMA {pragma}")
    database.executescript(schema)
    message = os.urandom(MESSAGE_BYTES)
    recipients = [os.urandom(32) for _ in range(RECIPIENTS)]
    started = time.perf_counter()
    for _ in range(count // PER_TRANSACTION):
        database.execute("BEGIN IMMEDIATE")
        for _ in range(PER_TRANSACTION):
            database.execute(insert, (random.choice(recipients), os.urandom(16), message, 1_778_400_000, HOUR_BASE)).fetchall()
        database.execute("COMMIT")
    elapsed = time.perf_counter() - started
    size = os.path.getsize(path)
    database.close()
    return count / elapsed, size


def main():
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 30_000
    print(f"SQLite {sqlite3.sqlite_version}, {count:,} messages of {MESSAGE_BYTES} bytes per layout")
    with tempfile.TemporaryDirectory() as folder:
        for name, (schema, insert) in LAYOUTS.items():
            rate, size = measure(schema, insert, count, folder)
            print(f"{name:40s} {rate:9,.0f} inserts/s   file {size / 1e6:6.1f} MB")


if __name__ == "__main__":
    main()
