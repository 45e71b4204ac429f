import Foundation
import HavenStore
import Testing

/// A fresh directory for one test's database files, removed afterwards.
final class TemporaryDirectory {
    let path: String

    init() throws {
        path = FileManager.default.temporaryDirectory.appendingPathComponent("haven-store-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(atPath: path) }
}

@Suite struct SQLiteConnectionTests {
    @Test func storeOpensWithWALAndSecureDelete() throws {
        let directory = try TemporaryDirectory()
        let connection = try SQLiteConnection.openStore(path: directory.path + "/haven.sqlite")
        #expect(try connection.prepare("PRAGMA journal_mode").query() == [[.text("wal")]])
        #expect(try connection.prepare("PRAGMA secure_delete").query() == [[.integer(1)]])
        #expect(try connection.prepare("PRAGMA synchronous").query() == [[.integer(2)]])
        #expect(try connection.prepare("PRAGMA foreign_keys").query() == [[.integer(1)]])
    }

    @Test func synchronousIsConfigurable() throws {
        let directory = try TemporaryDirectory()
        let connection = try SQLiteConnection.openStore(
            path: directory.path + "/haven.sqlite", settings: StoreSettings(synchronous: .normal))
        #expect(try connection.prepare("PRAGMA synchronous").query() == [[.integer(1)]])
    }

    @Test func valuesRoundTripThroughPreparedStatements() throws {
        let directory = try TemporaryDirectory()
        let path = directory.path + "/haven.sqlite"
        do {
            let connection = try SQLiteConnection.openStore(path: path)
            try connection.execute("CREATE TABLE t (i INTEGER, r REAL, s TEXT, b BLOB, n TEXT)")
            try connection.prepare("INSERT INTO t VALUES (?, ?, ?, ?, ?)")
                .query([.integer(-5), .real(2.5), .text("Quiet Otter"), .blob([0, 1, 255]), .null])
            #expect(connection.changes == 1)
        }
        let reopened = try SQLiteConnection.openStore(path: path)
        let rows = try reopened.prepare("SELECT i, r, s, b, n FROM t").query()
        #expect(rows == [[.integer(-5), .real(2.5), .text("Quiet Otter"), .blob([0, 1, 255]), .null]])
    }

    @Test func failuresSayWhatFailed() throws {
        let directory = try TemporaryDirectory()
        let connection = try SQLiteConnection.openStore(path: directory.path + "/haven.sqlite")
        let prepareError = #expect(throws: StoreError.self) { try connection.prepare("SELEC nothing") }
        #expect(prepareError?.description.hasPrefix("prepare failed: near \"SELEC\"") == true)

        try connection.execute("CREATE TABLE u (id INTEGER PRIMARY KEY, v TEXT NOT NULL UNIQUE)")
        let insert = try connection.prepare("INSERT INTO u (v) VALUES (?)")
        try insert.query([.text("once")])
        let duplicate = #expect(throws: StoreError.self) { try insert.query([.text("once")]) }
        #expect(duplicate?.description.contains("UNIQUE constraint failed") == true)
        #expect(duplicate?.description.contains("once") == false)
    }

    @Test func unopenableFileIsAClearError() {
        #expect(throws: StoreError.self) { try SQLiteConnection(path: "/nonexistent-dir/haven.sqlite") }
    }
}
