import Foundation
import HavenStore
public import Sodium

/// A folder of backups, each a snapshot of the database sealed to the backup key and named for
/// the time it was made (`haven-backup-20261126T165000Z.sealed`). A backup holds nothing the
/// live database had already purged, and backups older than the longest retention period are
/// deleted when the next is made, so deleted data does not outlive its period in a backup.
public struct BackupFolder: Sendable {
    /// The folder's path.
    public let path: String

    /// A backup made, or found, in the folder.
    public struct Backup: Sendable, Equatable {
        /// The file's path.
        public let path: String
        /// When it was made (Unix seconds, from its name).
        public let madeAt: Int64
    }

    /// What one ``make(from:sealedTo:now:)`` did.
    public struct Outcome: Sendable, Equatable {
        /// The backup written.
        public let made: Backup
        /// Older backups deleted because the longest retention period had passed since they were made.
        public let deleted: [Backup]
    }

    /// The folder at `path` (created 0700 when a backup is made).
    public init(path: String) {
        self.path = path
    }

    /// Takes a consistent snapshot of the database at `databasePath` (the server may keep running),
    /// purges from it everything expired at `now`, seals it to `publicKey`, and deletes this
    /// folder's backups older than the database's longest retention period.
    ///
    /// `asItIs`: the snapshot keeps the schema it has, unpurged and unmigrated, and no backup is
    /// deleted: the backup taken before an upgrade migrates the database, for the Haven that wrote it.
    ///
    /// - Throws: ``BackupError``.
    public func make(from databasePath: String, sealedTo publicKey: BoxPublicKey, now: Int64, asItIs: Bool = false) throws -> Outcome {
        try createFolder()
        Self.removeLeftovers(in: path)
        let snapshot = path + "/\(Self.leftoverPrefix)snapshot-\(UUID().uuidString).sqlite"
        defer { Self.removeDatabase(at: snapshot) }
        let longest: Int64?
        do {
            guard FileManager.default.fileExists(atPath: databasePath) else { throw BackupError.file(path: databasePath, reason: "no database here") }
            try SQLiteConnection(path: databasePath).copy(to: snapshot)
            longest = asItIs ? nil : try Self.applyRetention(to: snapshot, now: now).longestSeconds
        } catch let error as StoreError {
            throw BackupError.store("\(error)")
        }
        let made = Backup(path: path + "/" + Self.name(madeAt: now), madeAt: now)
        guard !FileManager.default.fileExists(atPath: made.path) else {
            throw BackupError.file(path: made.path, reason: "a backup made this same second is already there; try again in a second")
        }
        let partial = path + "/\(Self.leftoverPrefix)\(UUID().uuidString).partial"
        do {
            try SealedBackup.seal(snapshot, to: publicKey, into: partial)
            try FileManager.default.moveItem(atPath: partial, toPath: made.path)
        } catch {
            try? FileManager.default.removeItem(atPath: partial)
            throw error as? BackupError ?? BackupError.file(path: made.path, reason: "\(error)")
        }
        let expired = try longest.map { longest in try backups().filter { $0.madeAt < now - longest } } ?? []
        for backup in expired {
            do { try FileManager.default.removeItem(atPath: backup.path) } catch {
                throw BackupError.file(path: backup.path, reason: "could not be deleted: \(error)")
            }
        }
        return Outcome(made: made, deleted: expired)
    }

    /// The folder's backups, oldest first (files named as this folder names them).
    public func backups() throws -> [Backup] {
        guard FileManager.default.fileExists(atPath: path) else { return [] }
        let names: [String]
        do { names = try FileManager.default.contentsOfDirectory(atPath: path) } catch {
            throw BackupError.file(path: path, reason: "\(error)")
        }
        return names.compactMap { name in Self.madeAt(name).map { Backup(path: path + "/" + name, madeAt: $0) } }
            .sorted { $0.madeAt < $1.madeAt }
    }

    /// Opens the backup at `backupPath` with `keyPair`, checks it, migrates it if it is older,
    /// purges what expired by `now`, and puts it in `dataFolder` as its database (replacing one
    /// there only with `replace`; stop the server first).
    ///
    /// - Throws: ``BackupError``.
    public static func restore(_ backupPath: String, with keyPair: BoxKeyPair, into dataFolder: String, now: Int64, replace: Bool) throws {
        let database = dataFolder + "/haven.sqlite"
        guard replace || !FileManager.default.fileExists(atPath: database) else { throw BackupError.databaseExists(path: database) }
        do {
            try FileManager.default.createDirectory(atPath: dataFolder, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        } catch {
            throw BackupError.file(path: dataFolder, reason: "\(error)")
        }
        removeLeftovers(in: dataFolder)
        let opened = dataFolder + "/\(leftoverPrefix)restore-\(UUID().uuidString).sqlite"
        defer { removeDatabase(at: opened) }
        try SealedBackup.open(backupPath, with: keyPair, into: opened)
        do {
            try check(opened)
            _ = try applyRetention(to: opened, now: now)
            // Anyone with the public key can seal a "backup": only a database whose every table,
            // index and trigger is this Haven's own is put in place (no trigger that keeps
            // what retention deletes, no table that copies what arrives).
            try requireOwnSchema(opened, scratch: dataFolder)
        } catch let error as StoreError {
            throw BackupError.store("\(error)")
        }
        removeDatabase(at: database)
        do { try FileManager.default.moveItem(atPath: opened, toPath: database) } catch {
            throw BackupError.file(path: database, reason: "\(error)")
        }
        // Restored by root for a service that runs as its own user: the database is the folder's owner's.
        if let owner = try? FileManager.default.attributesOfItem(atPath: dataFolder) {
            try? FileManager.default.setAttributes([.ownerAccountID: owner[.ownerAccountID] as Any, .groupOwnerAccountID: owner[.groupOwnerAccountID] as Any],
                                                   ofItemAtPath: database)
        }
    }

    /// What temporary files of a backup or a restore cut off by a crash begin with: the next one
    /// deletes them (a snapshot is the database in the clear).
    static let leftoverPrefix = ".haven-unfinished-"

    /// What a backup or a restore cut off left in `folder` (a snapshot is the database in the clear).
    public static func leftovers(in folder: String) -> [String] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []
        return names.filter { $0.hasPrefix(leftoverPrefix) }.map { folder + "/" + $0 }
    }

    /// Deletes what an earlier backup or restore in `folder` left when it was cut off.
    public static func removeLeftovers(in folder: String) {
        for path in leftovers(in: folder) { try? FileManager.default.removeItem(atPath: path) }
    }

    /// Throws unless the database at `path` has exactly the tables, indexes and triggers a new
    /// database of this Haven has.
    private static func requireOwnSchema(_ path: String, scratch folder: String) throws {
        let fresh = folder + "/\(leftoverPrefix)schema-\(UUID().uuidString).sqlite"
        defer { removeDatabase(at: fresh) }
        try HavenStore(path: fresh).close()
        let query = "SELECT type, name, tbl_name, sql FROM sqlite_master ORDER BY type, name"
        guard try SQLiteConnection(path: path).prepare(query).query() == SQLiteConnection(path: fresh).prepare(query).query() else {
            throw BackupError.integrityCheckFailed(reason: "its tables, indexes or triggers are not this Haven's own")
        }
    }

    /// SQLite's integrity check, and a schema this Haven knows.
    private static func check(_ path: String) throws {
        let connection = try SQLiteConnection(path: path)
        let verdict = try connection.prepare("PRAGMA integrity_check").query().first?.first
        guard verdict == .text("ok") else { throw BackupError.integrityCheckFailed(reason: "\(verdict.map { "\($0)" } ?? "no answer")") }
        guard case .integer(let schema)? = try connection.prepare("PRAGMA user_version").query().first?.first else {
            throw BackupError.integrityCheckFailed(reason: "no schema version")
        }
        guard schema <= HavenStore.schemaVersion else { throw BackupError.tooNew(schema: Int(schema), supported: HavenStore.schemaVersion) }
    }

    /// Opens the copy at `path` as a store (migrating it), purges everything expired at `now`
    /// (overwritten: `secure_delete`), frees the pages, and answers its retention policy.
    private static func applyRetention(to path: String, now: Int64) throws -> RetentionPolicy {
        let store = try HavenStore(path: path)
        defer { store.close() }
        while try store.performAndWait({ try $0.purgeExpired(now: now, limit: 10_000) }).hasMore {}
        try store.performAndWait(outsideTransaction: true) { try $0.reclaimSpace() }
        return try store.performAndWait { try $0.retentionPolicy() }
    }

    private func createFolder() throws {
        do {
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        } catch {
            throw BackupError.file(path: path, reason: "\(error)")
        }
    }

    /// Removes a database file and its journal files, if there.
    private static func removeDatabase(at path: String) {
        for file in [path, path + "-wal", path + "-shm"] { try? FileManager.default.removeItem(atPath: file) }
    }

    static let prefix = "haven-backup-"
    static let suffix = ".sealed"

    private static func format() -> DateFormatter {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyyMMdd'T'HHmmss'Z'"
        return formatter
    }

    /// The name of a backup made at `madeAt` (Unix seconds).
    static func name(madeAt: Int64) -> String {
        prefix + format().string(from: Date(timeIntervalSince1970: TimeInterval(madeAt))) + suffix
    }

    /// When the backup named `name` was made, or nil for a file not named as a backup.
    static func madeAt(_ name: String) -> Int64? {
        guard name.hasPrefix(prefix), name.hasSuffix(suffix) else { return nil }
        let stamp = String(name.dropFirst(prefix.count).dropLast(suffix.count))
        return format().date(from: stamp).map { Int64($0.timeIntervalSince1970) }
    }
}
