import Foundation
import HavenKeys
import Sodium
import Testing

@Suite struct KeyDirectoryTests {
    let folder = FileManager.default.temporaryDirectory.appendingPathComponent("haven-keys-\(UUID().uuidString)").path
    var keys: KeyDirectory { KeyDirectory(path: folder) }

    func passphrase(_ text: String) throws -> SecretBytes {
        var bytes = Array(text.utf8)
        return try SecretBytes(consuming: &bytes)
    }

    func mode(_ path: String) throws -> Int {
        try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int ?? -1
    }

    @Test func initialiseWritesEncryptedKeysWithPrivateModes() throws {
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let created = try keys.initialise(passphrase: passphrase("correct horse battery"), limits: .minimum)
        #expect(try mode(keys.organisationKeyPath) == 0o600)
        #expect(try mode(keys.serverKeyPath) == 0o600)
        #expect(try mode(keys.organisationPublicKeyPath) == 0o644)
        #expect(try keys.organisationPublicKey() == created.organisation)
        #expect(try keys.serverKey().publicKey == created.server)
        let opened = try keys.organisationKey(passphrase: passphrase("correct horse battery"))
        #expect(opened.publicKey == created.organisation)
        let file = try String(contentsOfFile: keys.organisationKeyPath, encoding: .utf8)
        #expect(file.contains("argon2id13"))
    }

    @Test func wrongPassphraseIsAClearError() throws {
        defer { try? FileManager.default.removeItem(atPath: folder) }
        _ = try keys.initialise(passphrase: passphrase("correct horse battery"), limits: .minimum)
        let error = #expect(throws: KeyFileError.self) { try keys.organisationKey(passphrase: passphrase("wrong horse battery")) }
        #expect(error == .wrongPassphrase(path: keys.organisationKeyPath))
        #expect(error?.description == "wrong passphrase for \(keys.organisationKeyPath)")
    }

    @Test func refusesToOverwriteAKey() throws {
        defer { try? FileManager.default.removeItem(atPath: folder) }
        _ = try keys.initialise(passphrase: passphrase("correct horse battery"), limits: .minimum)
        #expect(throws: KeyFileError.exists(path: keys.organisationKeyPath)) {
            try keys.initialise(passphrase: passphrase("another passphrase"), limits: .minimum)
        }
    }

    @Test func missingCorruptAndExposedFilesAreRefused() throws {
        defer { try? FileManager.default.removeItem(atPath: folder) }
        #expect(throws: KeyFileError.missing(path: keys.organisationKeyPath)) {
            try keys.organisationKey(passphrase: passphrase("correct horse battery"))
        }
        _ = try keys.initialise(passphrase: passphrase("correct horse battery"), limits: .minimum)
        try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: keys.organisationKeyPath)
        let exposed = #expect(throws: KeyFileError.self) { try keys.organisationKey(passphrase: passphrase("correct horse battery")) }
        #expect(exposed == .insecurePermissions(path: keys.organisationKeyPath, mode: 0o644))
        #expect(exposed?.description.contains("chmod 600") == true)

        try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: keys.organisationKeyPath)
        var text = try String(contentsOfFile: keys.organisationKeyPath, encoding: .utf8)
        text = text.replacingOccurrences(of: "\"version\" : 1", with: "\"version\" : 9")
        try text.write(toFile: keys.organisationKeyPath, atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: keys.organisationKeyPath)
        #expect(throws: KeyFileError.corrupt(path: keys.organisationKeyPath, reason: "unknown version")) {
            try keys.organisationKey(passphrase: passphrase("correct horse battery"))
        }
        try "not json".write(toFile: keys.serverKeyPath, atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: keys.serverKeyPath)
        #expect(throws: KeyFileError.self) { try keys.serverKey() }
    }

    @Test func swappedPublicKeyIsDetected() throws {
        defer { try? FileManager.default.removeItem(atPath: folder) }
        _ = try keys.initialise(passphrase: passphrase("correct horse battery"), limits: .minimum)
        let other = Base64URL.encode(try SigningKeyPair.generate().publicKey.bytes)
        let text = try String(contentsOfFile: keys.organisationKeyPath, encoding: .utf8)
        let current = Base64URL.encode(try keys.organisationPublicKey().bytes)
        try text.replacingOccurrences(of: current, with: other).write(toFile: keys.organisationKeyPath, atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: keys.organisationKeyPath)
        // The public key is associated data: a swapped key fails authentication.
        #expect(throws: KeyFileError.wrongPassphrase(path: keys.organisationKeyPath)) {
            try keys.organisationKey(passphrase: passphrase("correct horse battery"))
        }
    }

    @Test func changePassphraseKeepsTheKey() throws {
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let created = try keys.initialise(passphrase: passphrase("correct horse battery"), limits: .minimum)
        try keys.changePassphrase(from: passphrase("correct horse battery"), to: passphrase("a brand new passphrase"), limits: .minimum)
        #expect(try mode(keys.organisationKeyPath) == 0o600)
        #expect(try keys.organisationKey(passphrase: passphrase("a brand new passphrase")).publicKey == created.organisation)
        #expect(throws: KeyFileError.wrongPassphrase(path: keys.organisationKeyPath)) {
            try keys.organisationKey(passphrase: passphrase("correct horse battery"))
        }
    }

    @Test func theBackupKeyOpensOnlyWithItsPassphraseAndNeverPassesForTheOrganisationKey() throws {
        defer { try? FileManager.default.removeItem(atPath: folder) }
        #expect(throws: KeyFileError.missingBackupKey(path: keys.backupPublicKeyPath)) { try keys.backupPublicKey() }
        let created = try keys.createBackupKey(passphrase: passphrase("a long backup passphrase"), limits: .minimum)
        #expect(try mode(keys.backupKeyPath) == 0o600)
        #expect(try keys.backupPublicKey() == created)
        #expect(try keys.backupKeyPair(passphrase: passphrase("a long backup passphrase")).publicKey == created)
        #expect(throws: KeyFileError.wrongPassphrase(path: keys.backupKeyPath)) {
            try keys.backupKeyPair(passphrase: passphrase("not the passphrase"))
        }
        #expect(throws: KeyFileError.exists(path: keys.backupKeyPath)) {
            try keys.createBackupKey(passphrase: passphrase("a long backup passphrase"), limits: .minimum)
        }
        // A backup key put where the organisation key goes is refused for what it is.
        try FileManager.default.copyItem(atPath: keys.backupKeyPath, toPath: keys.organisationKeyPath)
        #expect(throws: KeyFileError.corrupt(path: keys.organisationKeyPath, reason: "this is a haven-backup-key, not a haven-organisation-key")) {
            try keys.organisationKey(passphrase: passphrase("a long backup passphrase"))
        }
    }
}
