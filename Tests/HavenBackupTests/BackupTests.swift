import Foundation
import HavenBackup
import HavenStore
import Sodium
import Testing

/// Backups are sealed to a key the server does not hold and signed by the server, any change to
/// one is found, and nothing purged from the live database outlives its retention period in a
/// backup.
@Suite final class BackupTests {
    let folder: String
    static let day: Int64 = 86_400
    /// The server's own key, which signs its backups.
    let server = try! SigningKeyPair.generate()

    init() throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("haven-backup-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: folder + "/data", withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(atPath: folder) }

    var databasePath: String { folder + "/data/haven.sqlite" }
    var backups: BackupFolder { BackupFolder(path: folder + "/backups") }

    /// A live database whose every retention period is one day, with one room message sent at 0.
    func liveDatabase() throws -> HavenStore {
        let store = try HavenStore(path: databasePath)
        try store.performAndWait { database in
            for kind in RetentionKind.allCases { try database.setRetention(kind, seconds: 86_400) }
            _ = try database.createRoom(id: "lobby", name: "Lobby", kind: "support", now: 0)
            _ = try database.appendRoomMessage(room: "lobby", sender: [1], messageID: [2], epoch: 0, envelope: Array("said at midnight".utf8), now: 0)
        }
        return store
    }

    /// The room messages of the database a backup restores to, as of `now`.
    func messages(restoring backup: String, with keyPair: BoxKeyPair, now: Int64) throws -> Int {
        let target = folder + "/restored-\(UUID().uuidString)"
        try BackupFolder.restore(backup, with: keyPair, signedBy: server.publicKey, into: target, now: now, replace: false)
        let store = try HavenStore(path: target + "/haven.sqlite")
        defer { store.close() }
        return try store.performAndWait { try $0.roomMessages(room: "lobby", after: 0, limit: 10) }.count
    }

    @Test func aBackupOpensOnlyWithItsKeyAndAnyChangeToItIsFound() throws {
        let live = try liveDatabase()
        live.close()
        let key = try SigningKeyPair.generate().boxKeyPair()
        let made = try backups.make(from: databasePath, sealedTo: key.publicKey, signedBy: server, now: 100).made
        #expect(made.path.hasSuffix("/haven-backup-19700101T000140Z.sealed"))
        let sealed = try #require(FileManager.default.contents(atPath: made.path))
        #expect(sealed.range(of: Data("SQLite format 3".utf8)) == nil, "the database is in the clear")
        #expect(sealed.range(of: Data("said at midnight".utf8)) == nil)
        #expect(try messages(restoring: made.path, with: key, now: 100) == 1)

        let stranger = try SigningKeyPair.generate().boxKeyPair()
        #expect(throws: BackupError.wrongKey(path: made.path)) { try messages(restoring: made.path, with: stranger, now: 100) }
        var altered = [UInt8](sealed)
        altered[altered.count / 2] ^= 1
        _ = FileManager.default.createFile(atPath: made.path, contents: Data(altered))
        #expect(throws: BackupError.damaged(path: made.path, reason: "a part was altered or moved")) {
            try messages(restoring: made.path, with: key, now: 100)
        }
        _ = FileManager.default.createFile(atPath: made.path, contents: sealed.prefix(sealed.count - 40))
        #expect(throws: BackupError.self) { try messages(restoring: made.path, with: key, now: 100) }
        _ = FileManager.default.createFile(atPath: made.path, contents: Data("not a backup at all".utf8))
        #expect(throws: BackupError.notABackup(path: made.path)) { try messages(restoring: made.path, with: key, now: 100) }
    }

    @Test func aPurgedMessageIsInNoBackupOnceItsWindowHasPassed() throws {
        let live = try liveDatabase()
        defer { live.close() }
        let key = try SigningKeyPair.generate().boxKeyPair()
        // Made the same day, a backup holds the message...
        let first = try backups.make(from: databasePath, sealedTo: key.publicKey, signedBy: server, now: 100).made
        #expect(try messages(restoring: first.path, with: key, now: 100) == 1)
        // ...and restored once its day has passed, the message is purged before the server sees it.
        #expect(try messages(restoring: first.path, with: key, now: Self.day + 200) == 0)

        // The live server purges it after a day; the next backup drops the first one, whose
        // window has passed, and never held the message itself, even read as of the first day.
        _ = try live.performAndWait { try $0.purgeExpired(now: Self.day + 200, limit: 100) }
        let next = try backups.make(from: databasePath, sealedTo: key.publicKey, signedBy: server, now: Self.day + 200)
        #expect(next.deleted == [first])
        #expect(try backups.backups() == [next.made])
        #expect(try messages(restoring: next.made.path, with: key, now: 100) == 0)
    }

    @Test func aBackupHoldsNothingAlreadyExpiredEvenBeforeTheServerPurgedIt() throws {
        let live = try liveDatabase()
        defer { live.close() }
        let key = try SigningKeyPair.generate().boxKeyPair()
        // The server's purge has not run yet: the backup purges its snapshot itself.
        let made = try backups.make(from: databasePath, sealedTo: key.publicKey, signedBy: server, now: Self.day + 200).made
        #expect(try messages(restoring: made.path, with: key, now: 100) == 0)
        #expect(try live.performAndWait { try $0.roomMessages(room: "lobby", after: 0, limit: 10) }.count == 1, "the live database is untouched")
    }

    @Test func aRestoreOverADatabaseNeedsToBeAskedFor() throws {
        let live = try liveDatabase()
        live.close()
        let key = try SigningKeyPair.generate().boxKeyPair()
        let made = try backups.make(from: databasePath, sealedTo: key.publicKey, signedBy: server, now: 100).made
        #expect(throws: BackupError.databaseExists(path: databasePath)) {
            try BackupFolder.restore(made.path, with: key, signedBy: server.publicKey, into: folder + "/data", now: 100, replace: false)
        }
        try BackupFolder.restore(made.path, with: key, signedBy: server.publicKey, into: folder + "/data", now: 100, replace: true)
        let mode = try FileManager.default.attributesOfItem(atPath: databasePath)[.posixPermissions] as? Int
        #expect(mode == 0o600)
    }

    @Test func aBackupForgedWithThePublicKeyCannotKeepWhatRetentionDeletes() throws {
        let live = try liveDatabase()
        live.close()
        // Anyone holding backup.pub can seal a database: here one with a trigger that keeps
        // every room message from being deleted, and a message from long ago.
        let connection = try SQLiteConnection(path: databasePath)
        try connection.execute("CREATE TRIGGER keep BEFORE DELETE ON room_messages BEGIN SELECT RAISE(IGNORE); END")
        try connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        let key = try SigningKeyPair.generate().boxKeyPair()
        // Sealed by someone else: not this server's.
        let forged = try seal(databasePath, to: key.publicKey, signedBy: SigningKeyPair.generate())
        let target = folder + "/restored"
        #expect(throws: BackupError.self) { try BackupFolder.restore(forged, with: key, signedBy: server.publicKey, into: target, now: Self.day * 10, replace: false) }
        // Signed by the server's own key (a stolen server): its schema is still not Haven's.
        let signed = try seal(databasePath, to: key.publicKey, signedBy: server)
        #expect(throws: BackupError.integrityCheckFailed(reason: "its tables, indexes or triggers are not this Haven's own")) {
            try BackupFolder.restore(signed, with: key, signedBy: server.publicKey, into: target, now: Self.day * 10, replace: false)
        }
        #expect(!FileManager.default.fileExists(atPath: target + "/haven.sqlite"), "the forged database was put in place")
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: target)
        #expect(leftovers.isEmpty, "a restore left \(leftovers)")
    }

    /// Seals the file at `source` as a backup into a new file of the test folder.
    func seal(_ source: String, to publicKey: BoxPublicKey, signedBy signer: SigningKeyPair, madeAt: Int64 = 100) throws -> String {
        let path = folder + "/sealed-\(UUID().uuidString)"
        _ = FileManager.default.createFile(atPath: path, contents: nil)
        let output = try #require(FileHandle(forWritingAtPath: path))
        defer { try? output.close() }
        try SealedBackup.seal(source, to: publicKey, signedBy: signer, madeAt: madeAt, into: output, path: path)
        return path
    }

    @Test func onlyTheServersSignatureIsTakenAndWhatItSignsCannotChange() throws {
        let live = try liveDatabase()
        live.close()
        let key = try SigningKeyPair.generate().boxKeyPair()
        let other = try SigningKeyPair.generate()
        let stranger = try seal(databasePath, to: key.publicKey, signedBy: other)
        #expect(throws: BackupError.wrongSigner(path: stranger, found: Base64URL.encode(other.publicKey.bytes), expected: Base64URL.encode(server.publicKey.bytes))) {
            try messages(restoring: stranger, with: key, now: 100)
        }
        let made = try backups.make(from: databasePath, sealedTo: key.publicKey, signedBy: server, now: 100).made
        let sealed = try #require(FileManager.default.contents(atPath: made.path))
        // An older backup copied under a newer backup's name, to bring back what has changed since.
        let renamed = backups.path + "/haven-backup-19700102T000000Z.sealed"
        try FileManager.default.copyItem(atPath: made.path, toPath: renamed)
        #expect(throws: BackupError.misnamed(path: renamed, madeAt: 100)) { try messages(restoring: renamed, with: key, now: 100) }
        // The time it says it was made is signed: moved a year on, it no longer verifies.
        var redated = [UInt8](sealed)
        redated[8 + 32 + 4] ^= 1
        _ = FileManager.default.createFile(atPath: made.path, contents: Data(redated))
        #expect(throws: BackupError.damaged(path: made.path, reason: "its signature does not match what it holds")) {
            try messages(restoring: made.path, with: key, now: 100)
        }
        var resigned = [UInt8](sealed)
        resigned[resigned.count - 1] ^= 1
        _ = FileManager.default.createFile(atPath: made.path, contents: Data(resigned))
        #expect(throws: BackupError.damaged(path: made.path, reason: "its signature does not match what it holds")) {
            try messages(restoring: made.path, with: key, now: 100)
        }
    }

    @Test func aRestoreShowsWhatItHoldsAndPutsNothingInPlaceUnlessConfirmed() throws {
        let live = try liveDatabase()
        live.close()
        let key = try SigningKeyPair.generate().boxKeyPair()
        let made = try backups.make(from: databasePath, sealedTo: key.publicKey, signedBy: server, now: 100).made
        let target = folder + "/shown"
        var shown: RestoreSummary?
        #expect(throws: BackupError.notConfirmed) {
            try BackupFolder.restore(made.path, with: key, signedBy: server.publicKey, into: target, now: 100, replace: false) { summary in
                shown = summary
                return false
            }
        }
        let summary = try #require(shown)
        #expect(summary.madeAt == 100 && summary.signer == server.publicKey && summary.rooms == ["Lobby"] && summary.roomMessages == 1)
        #expect(summary.longestRetentionSeconds == Self.day)
        #expect(try FileManager.default.contentsOfDirectory(atPath: target).isEmpty, "nothing was put in place")
    }

    @Test func aBackupKeepsNothingInTheClearInItsFolderAndOneAtATimeIsMade() throws {
        let live = try liveDatabase()
        defer { live.close() }
        let key = try SigningKeyPair.generate().boxKeyPair()
        // A backup killed mid-way left its snapshot; another one is still at work on its own.
        let crashed = folder + "/data/.haven-unfinished-crashed"
        try FileManager.default.createDirectory(atPath: crashed, withIntermediateDirectories: true)
        try Data("SQLite format 3 in the clear".utf8).write(to: URL(fileURLWithPath: crashed + "/snapshot.sqlite"))
        let working = folder + "/data/.haven-unfinished-working"
        try FileManager.default.createDirectory(atPath: working, withIntermediateDirectories: true)
        let held = open(working, O_RDONLY | O_DIRECTORY)
        defer { close(held) }
        #expect(flock(held, LOCK_EX | LOCK_NB) == 0)
        #expect(BackupFolder.leftovers(in: folder + "/data") == [crashed], "one at work is not a leftover")

        let made = try backups.make(from: databasePath, sealedTo: key.publicKey, signedBy: server, now: 100).made
        #expect(try FileManager.default.contentsOfDirectory(atPath: backups.path) == [(made.path as NSString).lastPathComponent])
        #expect(!FileManager.default.fileExists(atPath: crashed), "the crashed backup's snapshot is gone")
        #expect(FileManager.default.fileExists(atPath: working), "the one at work is left to finish")
        #expect(BackupFolder.leftovers(in: folder + "/data").isEmpty, "the snapshot in the clear is gone")

        // While another backup holds the folder, none is made into it.
        let busy = open(backups.path, O_RDONLY | O_DIRECTORY)
        defer { close(busy) }
        #expect(flock(busy, LOCK_EX | LOCK_NB) == 0)
        #expect(throws: BackupError.busy(path: backups.path)) { try backups.make(from: databasePath, sealedTo: key.publicKey, signedBy: server, now: 200) }
        flock(busy, LOCK_UN)
        #expect(try backups.make(from: databasePath, sealedTo: key.publicKey, signedBy: server, now: 200).made.madeAt == 200)
    }

    @Test func rootRestoringForTheServicesUserFollowsNothingThatUserPutInTheWay() throws {
        guard geteuid() == 0 else { return }
        let live = try liveDatabase()
        live.close()
        let key = try SigningKeyPair.generate().boxKeyPair()
        let made = try backups.make(from: databasePath, sealedTo: key.publicKey, signedBy: server, now: 100).made
        // The service's data folder, its user's (here "nobody"), with a link where the database goes.
        let service = folder + "/service"
        try FileManager.default.createDirectory(atPath: service, withIntermediateDirectories: true)
        let victim = folder + "/victim"
        try Data("root's own file".utf8).write(to: URL(fileURLWithPath: victim))
        try FileManager.default.createSymbolicLink(atPath: service + "/haven.sqlite", withDestinationPath: victim)
        #expect(chown(service, 65534, 65534) == 0)
        try BackupFolder.restore(made.path, with: key, signedBy: server.publicKey, into: service, now: 100, replace: true)
        #expect(try String(contentsOfFile: victim, encoding: .utf8) == "root's own file", "the link was followed")
        let placed = try FileManager.default.attributesOfItem(atPath: service + "/haven.sqlite")
        #expect(placed[.type] as? FileAttributeType == .typeRegular)
        #expect(placed[.ownerAccountID] as? Int == 65534 && placed[.posixPermissions] as? Int == 0o600, "the database is the service's")
        #expect(BackupFolder.leftovers(in: folder).isEmpty && BackupFolder.leftovers(in: service).isEmpty, "the check left nothing in the clear")
    }
}
