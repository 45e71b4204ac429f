import Foundation
import HavenProtocol
public import Sodium

/// The operator's Keys/ folder: the encrypted organisation key, its public key, and the
/// server's own key. Secret files are created with mode 0600 and refused if others can read them.
public struct KeyDirectory: Sendable {
    /// The folder.
    public let path: String

    /// Uses `path` (created on first write).
    public init(path: String) { self.path = path }

    /// The encrypted organisation key.
    public var organisationKeyPath: String { path + "/organisation.key" }
    /// The organisation's public key, base64url on one line.
    public var organisationPublicKeyPath: String { path + "/organisation.pub" }
    /// The server's own key (unencrypted, mode 0600: the server starts unattended).
    public var serverKeyPath: String { path + "/server.key" }

    /// The backup key, encrypted: kept away from the server, it opens the backups.
    public var backupKeyPath: String { path + "/backup.key" }
    /// The backup key's public X25519 key, base64url on one line: the server seals backups to it.
    public var backupPublicKeyPath: String { path + "/backup.pub" }

    /// Creates the backup key (encrypted under `passphrase`) and its public key file.
    ///
    /// - Throws: ``KeyFileError/exists(path:)`` rather than overwrite a key.
    public func createBackupKey(passphrase: SecretBytes, limits: PasswordHash.Limits = .moderate) throws -> BoxPublicKey {
        for existing in [backupKeyPath, backupPublicKeyPath] where FileManager.default.fileExists(atPath: existing) {
            throw KeyFileError.exists(path: existing)
        }
        try createFolder()
        let keys = try SigningKeyPair.generate()
        let publicKey = try keys.publicKey.boxPublicKey()
        try writeSecret(JSONEncoder.keyFile.encode(PassphraseKeyFile.seal(keys, for: .backup, passphrase: passphrase, limits: limits)), to: backupKeyPath)
        try write(Data((Base64URL.encode(publicKey.bytes) + "\n").utf8), to: backupPublicKeyPath, mode: 0o644)
        return publicKey
    }

    /// The key backups are sealed to.
    ///
    /// - Throws: ``KeyFileError/missingBackupKey(path:)`` or ``KeyFileError/corrupt(path:reason:)``.
    public func backupPublicKey() throws -> BoxPublicKey {
        guard FileManager.default.fileExists(atPath: backupPublicKeyPath) else { throw KeyFileError.missingBackupKey(path: backupPublicKeyPath) }
        let text = try read(backupPublicKeyPath).trimmingCharacters(in: .whitespacesAndNewlines)
        guard let bytes = try? Base64URL.decode(text), let key = try? BoxPublicKey(bytes: bytes) else {
            throw KeyFileError.corrupt(path: backupPublicKeyPath, reason: "not a base64url X25519 public key")
        }
        return key
    }

    /// Opens the backup key with `passphrase`, to open backups.
    ///
    /// - Throws: ``KeyFileError``.
    public func backupKeyPair(passphrase: SecretBytes) throws -> BoxKeyPair {
        guard FileManager.default.fileExists(atPath: backupKeyPath) else { throw KeyFileError.missingBackupKey(path: backupKeyPath) }
        return try readSecret(backupKeyPath, as: PassphraseKeyFile.self).open(passphrase: passphrase, path: backupKeyPath, purpose: .backup).boxKeyPair()
    }

    private func createFolder() throws {
        do {
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        } catch {
            throw KeyFileError.io(path: path, reason: "\(error.localizedDescription)")
        }
    }

    /// Creates the organisation key (encrypted under `passphrase`) and the server key.
    ///
    /// - Throws: ``KeyFileError/exists(path:)`` rather than overwrite a key.
    public func initialise(passphrase: SecretBytes, limits: PasswordHash.Limits = .moderate) throws -> (organisation: SigningPublicKey, server: SigningPublicKey) {
        for existing in [organisationKeyPath, serverKeyPath] where FileManager.default.fileExists(atPath: existing) {
            throw KeyFileError.exists(path: existing)
        }
        try createFolder()
        let organisation = try SigningKeyPair.generate()
        try writeSecret(JSONEncoder.keyFile.encode(PassphraseKeyFile.seal(organisation, for: .organisation, passphrase: passphrase, limits: limits)), to: organisationKeyPath)
        try write(Data((Base64URL.encode(organisation.publicKey.bytes) + "\n").utf8), to: organisationPublicKeyPath, mode: 0o644)
        let server = try SigningKeyPair.generate()
        let serverFile = ServerKeyFile(version: 1, kind: ServerKeyFile.kindName, seed: WireBytes(try server.seed().copyBytes()))
        try writeSecret(JSONEncoder.keyFile.encode(serverFile), to: serverKeyPath)
        return (organisation.publicKey, server.publicKey)
    }

    /// Reads and decrypts the organisation key.
    public func organisationKey(passphrase: SecretBytes) throws -> SigningKeyPair {
        try readSecret(organisationKeyPath, as: PassphraseKeyFile.self).open(passphrase: passphrase, path: organisationKeyPath, purpose: .organisation)
    }

    /// The organisation's public key, from organisation.pub (no passphrase needed).
    public func organisationPublicKey() throws -> SigningPublicKey {
        let text = try read(organisationPublicKeyPath).trimmingCharacters(in: .whitespacesAndNewlines)
        guard let bytes = try? Base64URL.decode(text), let key = try? SigningPublicKey(bytes: bytes) else {
            throw KeyFileError.corrupt(path: organisationPublicKeyPath, reason: "not a base64url Ed25519 public key")
        }
        return key
    }

    /// The server's keypair.
    public func serverKey() throws -> SigningKeyPair {
        var seed = try readSecret(serverKeyPath, as: ServerKeyFile.self).validSeed(path: serverKeyPath)
        return try SigningKeyPair(seed: SecretBytes(consuming: &seed))
    }

    /// Re-encrypts the organisation key under a new passphrase (atomically replacing the file).
    public func changePassphrase(from old: SecretBytes, to new: SecretBytes, limits: PasswordHash.Limits = .moderate) throws {
        let keys = try organisationKey(passphrase: old)
        try writeSecret(JSONEncoder.keyFile.encode(PassphraseKeyFile.seal(keys, for: .organisation, passphrase: new, limits: limits)), to: organisationKeyPath, replacing: true)
    }

    // MARK: Files

    private func read(_ file: String) throws -> String {
        guard FileManager.default.fileExists(atPath: file) else { throw KeyFileError.missing(path: file) }
        do {
            return try String(contentsOfFile: file, encoding: .utf8)
        } catch {
            throw KeyFileError.io(path: file, reason: error.localizedDescription)
        }
    }

    private func readSecret<Document: Decodable>(_ file: String, as type: Document.Type) throws -> Document {
        guard FileManager.default.fileExists(atPath: file) else { throw KeyFileError.missing(path: file) }
        let mode = (try? FileManager.default.attributesOfItem(atPath: file)[.posixPermissions] as? Int) ?? 0
        guard mode & 0o077 == 0 else { throw KeyFileError.insecurePermissions(path: file, mode: mode) }
        do {
            return try JSONDecoder().decode(type, from: Data(read(file).utf8))
        } catch let error as KeyFileError {
            throw error
        } catch {
            throw KeyFileError.corrupt(path: file, reason: "not the expected JSON document")
        }
    }

    private func writeSecret(_ data: Data, to file: String, replacing: Bool = false) throws {
        try write(data, to: file, mode: 0o600, replacing: replacing)
    }

    /// Writes `file` whole or not at all: into a new file of a random name (`O_EXCL`,
    /// `O_NOFOLLOW`: a link someone put in the folder is never followed), given to the folder's
    /// owner when root writes into another user's folder (the service must read its keys), then
    /// renamed into place.
    private func write(_ data: Data, to file: String, mode: Int, replacing: Bool = false) throws {
        let temporary = file + ".\(UUID().uuidString).tmp"
        let descriptor = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode_t(mode))
        guard descriptor >= 0 else { throw KeyFileError.io(path: temporary, reason: String(cString: strerror(errno))) }
        let handle = FileHandle(fileDescriptor: descriptor, closeOnDealloc: true)
        do {
            var folder = stat()
            if geteuid() == 0, stat(path, &folder) == 0, folder.st_uid != 0 {
                guard fchown(descriptor, folder.st_uid, folder.st_gid) == 0 else { throw KeyFileError.io(path: temporary, reason: String(cString: strerror(errno))) }
            }
            // Under the process's umask the file may have been made narrower than asked, never wider.
            guard fchmod(descriptor, mode_t(mode)) == 0 else { throw KeyFileError.io(path: temporary, reason: String(cString: strerror(errno))) }
            try handle.write(contentsOf: data)
            try handle.synchronize()
            try handle.close()
            var existing = stat()
            if !replacing && lstat(file, &existing) == 0 { throw KeyFileError.exists(path: file) }
            // rename(2) replaces atomically (a link in the way is replaced, not followed): a crash
            // leaves either the old file or the new one.
            guard rename(temporary, file) == 0 else { throw KeyFileError.io(path: file, reason: String(cString: strerror(errno))) }
        } catch let error as KeyFileError {
            unlink(temporary)
            throw error
        } catch {
            unlink(temporary)
            throw KeyFileError.io(path: file, reason: error.localizedDescription)
        }
    }
}

/// The server's own key: its seed, unencrypted (mode 0600), because the server starts unattended.
struct ServerKeyFile: Codable {
    static let kindName = "haven-server-key"
    var version: Int
    var kind: String
    var seed: WireBytes

    func validSeed(path: String) throws -> [UInt8] {
        guard version == 1, kind == Self.kindName, seed.count == SigningKeyPair.seedLength else {
            throw KeyFileError.corrupt(path: path, reason: "unknown version or kind, or a seed of the wrong length")
        }
        return seed.bytes
    }
}

extension JSONEncoder {
    /// Pretty, sorted JSON for files people may open.
    static var keyFile: JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return encoder
    }
}
