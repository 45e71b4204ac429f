import Foundation
public import HavenStore
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
    /// purges from it everything expired at `now`, seals it to `publicKey`, signed by `server`, and
    /// deletes this folder's backups older than the database's longest retention period. The
    /// snapshot, in the clear, is made in a folder only this user may enter (``ScratchFolder``),
    /// never in the backups folder; one backup at a time is made into a folder.
    ///
    /// `asItIs`: the snapshot keeps the schema it has, unpurged and unmigrated, and no backup is
    /// deleted: the backup taken before an upgrade migrates the database, for the Haven that wrote it.
    ///
    /// - Throws: ``BackupError``.
    public func make(
        from databasePath: String, sealedTo publicKey: BoxPublicKey, signedBy server: SigningKeyPair, now: Int64, asItIs: Bool = false
    ) throws -> Outcome {
        guard FileManager.default.fileExists(atPath: databasePath) else { throw BackupError.file(path: databasePath, reason: "no database here") }
        let folder = try FolderHandle(path)
        try folder.lock()
        for name in folder.names() where name.hasPrefix(Self.leftoverPrefix) { folder.remove(name) }
        let scratch = try ScratchFolder(near: (databasePath as NSString).deletingLastPathComponent)
        defer { scratch.remove() }
        let snapshot = scratch.path + "/snapshot.sqlite"
        let longest: Int64?
        do {
            try SQLiteConnection(path: databasePath).copy(to: snapshot)
            longest = asItIs ? nil : try Self.applyRetention(to: snapshot, now: now).longestSeconds
        } catch let error as StoreError {
            throw BackupError.store("\(error)")
        }
        let name = Self.name(madeAt: now)
        let made = Backup(path: path + "/" + name, madeAt: now)
        guard !folder.contains(name) else {
            throw BackupError.file(path: made.path, reason: "a backup made this same second is already there; try again in a second")
        }
        let partial = Self.leftoverPrefix + UUID().uuidString + ".partial"
        do {
            let output = try folder.create(partial)
            defer { try? output.close() }
            try SealedBackup.seal(snapshot, to: publicKey, signedBy: server, madeAt: now, into: output, path: path + "/" + partial)
            try folder.rename(partial, to: name)
        } catch {
            folder.remove(partial)
            throw error
        }
        let expired = try longest.map { longest in try backups().filter { $0.madeAt < now - longest } } ?? []
        for backup in expired { folder.remove((backup.path as NSString).lastPathComponent) }
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

    /// Opens the backup at `backupPath` with `keyPair`, checks that `server` signed it and that it
    /// is whole and Haven's own, migrates it if it is older, purges what expired by `now`, shows
    /// `confirm` what it would put in place, and, if confirmed, puts it in `dataFolder` as its
    /// database (replacing one there only with `replace`; stop the server first), owned like
    /// the folder. The database is checked in a folder only this user may enter and written
    /// into `dataFolder` through a ``FolderHandle``, so root restoring for the service's user
    /// follows nothing that user could have put in the way.
    ///
    /// - Throws: ``BackupError``.
    @discardableResult
    public static func restore(
        _ backupPath: String, with keyPair: BoxKeyPair, signedBy server: SigningPublicKey, into dataFolder: String, now: Int64, replace: Bool,
        confirm: (RestoreSummary) -> Bool = { _ in true }
    ) throws -> RestoreSummary {
        let folder = try FolderHandle(dataFolder)
        let held = try serverStopped(folder.path)
        defer { withExtendedLifetime(held) {} }
        guard replace || !folder.contains("haven.sqlite") else { throw BackupError.databaseExists(path: dataFolder + "/haven.sqlite") }
        let scratch = try ScratchFolder(near: folder.path)
        defer { scratch.remove() }
        let opened = scratch.path + "/restore.sqlite"
        let signed = try SealedBackup.open(backupPath, with: keyPair, expecting: server, into: opened)
        // A copy renamed to pass for a newer backup (to bring back a state since changed).
        if let named = madeAt((backupPath as NSString).lastPathComponent), named != signed.madeAt {
            throw BackupError.misnamed(path: backupPath, madeAt: signed.madeAt)
        }
        let summary: RestoreSummary
        do {
            // Only the server's key signs, but a stolen server could sign anything: nothing in
            // the file runs before its schema is known to be Haven's own (no trigger that keeps
            // what retention deletes, no table that copies what arrives).
            let version = try check(opened)
            try requireOwnSchema(opened, version: version, scratch: scratch.path)
            let policy = try applyRetention(to: opened, now: now)
            summary = try RestoreSummary(of: opened, signed: signed, schema: version, longestRetention: policy.longestSeconds)
            try SQLiteConnection(path: opened).execute("PRAGMA journal_mode = DELETE")
        } catch let error as StoreError {
            throw BackupError.store("\(error)")
        }
        guard confirm(summary) else { throw BackupError.notConfirmed }
        let placed = leftoverPrefix + "restore-" + UUID().uuidString + ".sqlite"
        do {
            let output = try folder.create(placed)
            defer { try? output.close() }
            guard let input = FileHandle(forReadingAtPath: opened) else { throw BackupError.file(path: opened, reason: "cannot be read") }
            defer { try? input.close() }
            while let part = try input.read(upToCount: 1024 * 1024), !part.isEmpty { try output.write(contentsOf: part) }
            try output.synchronize()
            // The old database's journal must not be applied to the restored one.
            for journal in ["haven.sqlite-wal", "haven.sqlite-shm", "haven.sqlite-journal"] { folder.remove(journal) }
            try folder.rename(placed, to: "haven.sqlite")
        } catch {
            folder.remove(placed)
            throw error as? BackupError ?? BackupError.file(path: dataFolder + "/haven.sqlite", reason: "\(error)")
        }
        return summary
    }

    /// Holds `dataFolder` for a restore, which checks first: refused while a server runs on it
    /// (nil: there is no such folder yet, so nothing runs on it).
    ///
    /// - Throws: ``BackupError/serverRunning(path:)``, or ``BackupError/file(path:reason:)``.
    public static func serverStopped(_ dataFolder: String) throws -> DataFolderLock? {
        guard FileManager.default.fileExists(atPath: dataFolder) else { return nil }
        do {
            return try DataFolderLock(folder: dataFolder)
        } catch .folderInUse {
            throw BackupError.serverRunning(path: dataFolder)
        } catch {
            throw BackupError.file(path: dataFolder, reason: "\(error)")
        }
    }

    /// What temporary files of a backup or a restore cut off by a crash begin with: the next one
    /// deletes them (a snapshot is the database in the clear).
    static let leftoverPrefix = ".haven-unfinished-"

    /// What a backup or a restore cut off left in `folder` (a snapshot is the database in the
    /// clear); a scratch folder one still works in is not a leftover.
    public static func leftovers(in folder: String) -> [String] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []
        return names.filter { $0.hasPrefix(leftoverPrefix) }.map { folder + "/" + $0 }.filter { !ScratchFolder.isInUse($0) }
    }

    /// Deletes what an earlier backup or restore in `folder` left when it was cut off (never a
    /// scratch folder one still works in), when `folder` is this user's alone (elsewhere its
    /// owner does).
    public static func removeLeftovers(in folder: String) {
        guard ScratchFolder.isOwnAlone(folder) else { return }
        for path in leftovers(in: folder) { try? FileManager.default.removeItem(atPath: path) }
    }

    /// Removes the scratch folders this process has open (with the database in the clear in
    /// them), for a signal handler that ends the process during a backup or a restore.
    public static func removeScratchFolders() {
        ScratchFolder.removeAll()
    }

    /// The data folder and the one above it: where a restore's or a backup's scratch folder is.
    public static func scratchPlaces(for dataFolder: String) -> [String] {
        // As the kernel finds the folder: "a/link/.." is not "a".
        let folder = realpath(dataFolder, nil).map { resolved in
            defer { free(resolved) }
            return String(cString: resolved)
        } ?? URL(fileURLWithPath: dataFolder).standardizedFileURL.path
        return [folder, (folder as NSString).deletingLastPathComponent]
    }

    /// Throws unless the database at `path` has exactly the tables, indexes and triggers a new
    /// database of this Haven's schema `version` has.
    private static func requireOwnSchema(_ path: String, version: Int, scratch folder: String) throws {
        let fresh = folder + "/schema.sqlite"
        try HavenStore.createSchema(at: fresh, version: version)
        let query = "SELECT type, name, tbl_name, sql FROM sqlite_master ORDER BY type, name"
        let connection = try SQLiteConnection(path: path)
        try connection.distrustFile()
        guard try connection.prepare(query).query() == SQLiteConnection(path: fresh).prepare(query).query() else {
            throw BackupError.integrityCheckFailed(reason: "its tables, indexes or triggers are not this Haven's own")
        }
    }

    /// SQLite's integrity check, and a schema this Haven knows: its version.
    private static func check(_ path: String) throws -> Int {
        let connection = try SQLiteConnection(path: path)
        try connection.distrustFile()
        let verdict = try connection.prepare("PRAGMA integrity_check").query().first?.first
        guard verdict == .text("ok") else { throw BackupError.integrityCheckFailed(reason: "\(verdict.map { "\($0)" } ?? "no answer")") }
        guard case .integer(let schema)? = try connection.prepare("PRAGMA user_version").query().first?.first else {
            throw BackupError.integrityCheckFailed(reason: "no schema version")
        }
        guard schema <= HavenStore.schemaVersion else { throw BackupError.tooNew(schema: Int(schema), supported: HavenStore.schemaVersion) }
        return Int(schema)
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
