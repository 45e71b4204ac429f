import Foundation
import HavenBackup
import HavenKeys
import HavenStore
import Sodium
import HavenTestSupport
import Testing

/// `haven serve` refuses a bad configuration with one clear line and a non-zero exit.
@Suite struct ServeCommandTests {
    func run(_ arguments: [String]) throws -> (status: Int32, output: String, errors: String) { try ServerProcess.run(arguments) }

    @Test func badListenAddressIsRefused() throws {
        let result = try run(["serve", "--listen", "localhost", "--data", "/tmp/haven-unused"])
        #expect(result.status != 0)
        #expect(result.errors.contains("--listen must be HOST:PORT"))
    }

    @Test func invalidTOMLIsRefusedWithItsLine() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("bad-\(UUID().uuidString).toml").path
        try "listen = \"127.0.0.1:0\"\n[limits\n".write(toFile: path, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let result = try run(["serve", "--config", path])
        #expect(result.status != 0)
        #expect(result.errors.contains("is not valid TOML (line 2)"))
    }

    @Test func aQuickExitToAnUnsafeAddressIsRefused() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("exit-\(UUID().uuidString).toml").path
        try "[widget]\nquick_exit_url = \"javascript:alert(1)\"\n".write(toFile: path, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let result = try run(["serve", "--config", path, "--data", "/tmp/haven-unused"])
        #expect(result.status != 0)
        #expect(result.errors.contains("quick_exit_url must be an https:// address or a path on this site"))
    }

    /// docs/haven.example.toml is what operators copy: it must be a configuration `serve` accepts
    /// (an unbindable address then stops it, after the file was read).
    @Test func theExampleConfigurationInTheDocsIsAccepted() throws {
        let example = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../docs/haven.example.toml").path
        let result = try run(["serve", "--config", example, "--listen", "203.0.113.1:80",
                              "--data", FileManager.default.temporaryDirectory.path + "/haven-example-\(UUID().uuidString)"])
        #expect(result.status == 1)
        #expect(result.errors.contains("cannot start"), "\(result.errors)")
    }

    @Test func unknownSynchronousLevelIsRefused() throws {
        let result = try run(["serve", "--synchronous", "sometimes", "--data", "/tmp/haven-unused"])
        #expect(result.status != 0)
        #expect(result.errors.contains(#"synchronous must be "full" or "normal""#))
    }

    @Test func unbindableAddressFailsToStart() throws {
        let result = try run(["serve", "--listen", "203.0.113.1:80", "--data", FileManager.default.temporaryDirectory.path + "/haven-bind-\(UUID().uuidString)"])
        #expect(result.status == 1)
        #expect(result.errors.contains("cannot start"))
    }
}

/// An upgrade never loses the way back: the database is backed up as it was, sealed to the backup
/// key, before the newer Haven migrates it.
@Suite struct UpgradeTests {
    let folder = FileManager.default.temporaryDirectory.appendingPathComponent("haven-upgrade-\(UUID().uuidString)").path

    func passphrase() throws -> SecretBytes {
        var bytes = Array("a long backup passphrase".utf8)
        return try SecretBytes(consuming: &bytes)
    }

    @Test func aDatabaseFromAnOlderHavenIsBackedUpAsItWasBeforeItIsMigrated() throws {
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let data = folder + "/data", backups = folder + "/backups"
        let keys = KeyDirectory(path: folder + "/keys")
        _ = try keys.createBackupKey(passphrase: passphrase(), limits: .minimum)
        _ = try keys.initialise(passphrase: passphrase(), limits: .minimum)
        // The database as Haven at schema 12 left it (attachments whole, before their parts).
        try FileManager.default.createDirectory(atPath: data, withIntermediateDirectories: true)
        try HavenStore.createSchema(at: data + "/haven.sqlite", version: 12)
        try SQLiteConnection(path: data + "/haven.sqlite").execute(
            "INSERT INTO rooms (id, name, kind, created_at) VALUES ('lobby', 'Lobby', 'support', 1)")

        let server = try ServerProcess(data: data, arguments: ["--keys", keys.path, "--backups", backups])
        #expect(try HavenStore.schemaVersion(at: data + "/haven.sqlite") == HavenStore.schemaVersion, "migrated")
        let made = try BackupFolder(path: backups).backups()
        #expect(made.count == 1)
        let opened = folder + "/opened.sqlite"
        _ = try SealedBackup.open(try #require(made.first).path, with: keys.backupKeyPair(passphrase: passphrase()), expecting: keys.serverKey().publicKey, into: opened)
        #expect(try HavenStore.schemaVersion(at: opened) == 12, "the backup is the database as it was, for the Haven that wrote it")
        #expect(server.terminate() == 0)

        // Started again, it has nothing to migrate and backs nothing up; what a restore cut off by
        // a crash left beside the database is gone.
        let leftover = data + "/.haven-unfinished-restore-1.sqlite"
        _ = FileManager.default.createFile(atPath: leftover, contents: Data("a snapshot in the clear".utf8))
        let again = try ServerProcess(data: data, arguments: ["--keys", keys.path, "--backups", backups])
        #expect(try BackupFolder(path: backups).backups().count == 1)
        #expect(!FileManager.default.fileExists(atPath: leftover))
        #expect(again.terminate() == 0)
    }

    @Test func aDatabaseFromANewerHavenIsRefusedWithWhatToDo() throws {
        defer { try? FileManager.default.removeItem(atPath: folder) }
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let store = try HavenStore(path: folder + "/haven.sqlite")
        store.close()
        try SQLiteConnection(path: folder + "/haven.sqlite").execute("PRAGMA user_version = 99")
        let refused = try ServerProcess.run(["serve", "--listen", "127.0.0.1:0", "--data", folder])
        #expect(refused.status == 1)
        #expect(refused.errors.contains("database schema version 99 is newer than this Haven supports (\(HavenStore.schemaVersion)); upgrade Haven"))
        #expect(try HavenStore.schemaVersion(at: folder + "/haven.sqlite") == 99, "nothing was changed")
    }
}
