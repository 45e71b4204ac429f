#pragma once
#include <sqlite3.h>

/* SQLite's defensive mode on `db` (sqlite3_db_config is variadic, which Swift cannot call). */
static inline int haven_sqlite_defensive(sqlite3 *db) {
    return sqlite3_db_config(db, SQLITE_DBCONFIG_DEFENSIVE, 1, (int *)0);
}
