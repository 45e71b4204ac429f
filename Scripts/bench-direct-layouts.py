#!/usr/bin/env python3
"""Durable inserts per second for the private-message table's layouts, with Haven's settings.

    python3 Scripts/bench-direct-layouts.py            # 30,000 messages per layout
    python3 Scripts/bench-direct-layouts.py 100000
    python3 Scripts/bench-direct-layouts.py --page-sizes 1024,2048,4096,8192   # the current layout only

Each layout gets a fresh file (WAL, synchronous=FULL, secure_delete=ON, incremental auto-vacuum,
SQLite's own page cache), and the same load: 1.6 KB messages (a short message padded to the
1 KiB floor, as stored) to 1,000 recipients at random, 100 to a transaction, each with its
recipient's next cursor read as Haven's store reads it. "Written" is what the process handed to
write(2) per message (WAL frames and checkpoints, from /proc/self/io). It uses Debian's SQLite
through Python's sqlite3, so the figures compare layouts, not Haven's server (`haven bench`
measures that; `haven bench --phase store` its store alone).
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


def bytes_written():
    with open("/proc/self/io") as io:
        return next(int(line.split()[1]) for line in io if line.startswith("wchar:"))


def measure(schema, insert, count, folder, page_size=4096):
    path = os.path.join(folder, f"{random.getrandbits(32)}.sqlite")
    database = sqlite3.connect(path, isolation_level=None)
    database.execute(f"PRAGMA page_size = {page_size}")
    for pragma in ("auto_vacuum = INCREMENTAL", "journal_mode = WAL", "secure_delete = ON", "synchronous = FULL"):
        database.execute(f"PRAGMA {pragma}")
    database.executescript(schema)
    message = os.urandom(MESSAGE_BYTES)
    recipients = [os.urandom(32) for _ in range(RECIPIENTS)]
    written = bytes_written()
    started = time.perf_counter()
    for _ in range(count // PER_TRANSACTION):
        database.execute("BEGIN IMMEDIATE")
        for _ in range(PER_TRANSACTION):
            database.execute(insert, (random.choice(recipients), os.urandom(16), message, 1_778_400_000, HOUR_BASE)).fetchall()
        database.execute("COMMIT")
    elapsed = time.perf_counter() - started
    written = bytes_written() - written
    size = os.path.getsize(path)
    database.close()
    return count / elapsed, written / count, size


def main():
    arguments = sys.argv[1:]
    page_sizes = [4096]
    if "--page-sizes" in arguments:
        at = arguments.index("--page-sizes")
        page_sizes = [int(size) for size in arguments[at + 1].split(",")]
        del arguments[at:at + 2]
    count = int(arguments[0]) if arguments else 30_000
    layouts = LAYOUTS if page_sizes == [4096] else {name: LAYOUTS[name] for name in list(LAYOUTS)[-1:]}
    print(f"SQLite {sqlite3.sqlite_version}, {count:,} messages of {MESSAGE_BYTES} bytes per layout")
    with tempfile.TemporaryDirectory() as folder:
        for name, (schema, insert) in layouts.items():
            for page_size in page_sizes:
                rate, written, size = measure(schema, insert, count, folder, page_size)
                print(f"{name:40s} pages of {page_size:5d} B: {rate:9,.0f} inserts/s, {written / 1024:5.1f} KiB written per insert, file {size / 1e6:6.1f} MB")


if __name__ == "__main__":
    main()
