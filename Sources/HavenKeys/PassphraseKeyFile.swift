import Foundation
public import HavenProtocol
public import Sodium

/// A key kept at rest under the operator's passphrase (the organisation's signing key, the backup
/// key): its Ed25519 seed encrypted with XChaCha20-Poly1305 under a key derived by Argon2id from
/// the passphrase (docs/crypto.md, "Key files").
///
/// The JSON document holds only the public key, the KDF parameters, the nonce and the
/// ciphertext; the associated data binds the key's purpose and its public key, so swapping either
/// is detected.
public struct PassphraseKeyFile: Codable, Sendable, Equatable {
    /// What the key is for: each has its own `kind` and associated-data label.
    public enum Purpose: Sendable {
        /// The organisation's signing key (staff certificates, rosters).
        case organisation
        /// The key backups are sealed to (its X25519 form); kept away from the server.
        case backup

        var kindName: String {
            switch self {
            case .organisation: return "haven-organisation-key"
            case .backup: return "haven-backup-key"
            }
        }

        var associatedDataLabel: String {
            switch self {
            case .organisation: return "haven/v1/organisation-key-file"
            case .backup: return "haven/v1/backup-key-file"
            }
        }
    }

    /// Argon2id parameters and salt.
    public struct KeyDerivation: Codable, Sendable, Equatable {
        /// Always "argon2id13".
        public var algorithm: String
        /// The 16-byte salt.
        public var salt: WireBytes
        /// Passes.
        public var operations: UInt64
        /// Memory in bytes.
        public var memoryBytes: Int
    }

    /// Format version (1).
    public var version: Int
    /// "haven-organisation-key" or "haven-backup-key".
    public var kind: String
    /// The organisation's Ed25519 public key.
    public var publicKey: WireBytes
    /// How the encryption key is derived from the passphrase.
    public var kdf: KeyDerivation
    /// The AEAD nonce.
    public var nonce: WireBytes
    /// The encrypted 32-byte seed (48 bytes with the tag).
    public var ciphertext: WireBytes

    /// Encrypts `keys`, kept for `purpose`, under `passphrase`.
    public static func seal(
        _ keys: SigningKeyPair, for purpose: Purpose, passphrase: SecretBytes, limits: PasswordHash.Limits = .moderate
    ) throws -> PassphraseKeyFile {
        let salt = RandomBytes.bytes(count: PasswordHash.saltLength)
        let key = try PasswordHash.deriveKey(from: passphrase, salt: salt, length: AEAD.keyLength, limits: limits)
        let publicKey = keys.publicKey.bytes
        let (nonce, ciphertext) = try keys.seed().withUnsafeBytes { seed in
            try AEAD.seal(Array(seed), associatedData: associatedData(publicKey, purpose: purpose), key: key)
        }
        return PassphraseKeyFile(
            version: 1, kind: purpose.kindName, publicKey: WireBytes(publicKey),
            kdf: KeyDerivation(algorithm: "argon2id13", salt: WireBytes(salt), operations: limits.operations, memoryBytes: limits.memoryBytes),
            nonce: WireBytes(nonce), ciphertext: WireBytes(ciphertext))
    }

    /// Decrypts the keypair, kept for `purpose`, with `passphrase`.
    ///
    /// - Throws: ``KeyFileError/wrongPassphrase(path:)`` or ``KeyFileError/corrupt(path:reason:)``
    ///   (also for a key file of another purpose).
    public func open(passphrase: SecretBytes, path: String, purpose: Purpose) throws -> SigningKeyPair {
        guard version == 1, kdf.algorithm == "argon2id13" else {
            throw KeyFileError.corrupt(path: path, reason: "unknown version")
        }
        guard kind == purpose.kindName else {
            throw KeyFileError.corrupt(path: path, reason: "this is a \(kind), not a \(purpose.kindName)")
        }
        guard kdf.salt.count == PasswordHash.saltLength, nonce.count == AEAD.nonceLength, publicKey.count == 32 else {
            throw KeyFileError.corrupt(path: path, reason: "a field has the wrong length")
        }
        let limits = PasswordHash.Limits(operations: kdf.operations, memoryBytes: kdf.memoryBytes)
        let key = try PasswordHash.deriveKey(from: passphrase, salt: kdf.salt.bytes, length: AEAD.keyLength, limits: limits)
        var seed: [UInt8]
        do {
            seed = try AEAD.open(ciphertext.bytes, associatedData: Self.associatedData(publicKey.bytes, purpose: purpose), nonce: nonce.bytes, key: key)
        } catch {
            throw KeyFileError.wrongPassphrase(path: path)
        }
        let keys = try SigningKeyPair(seed: SecretBytes(consuming: &seed))
        guard keys.publicKey.bytes == publicKey.bytes else {
            throw KeyFileError.corrupt(path: path, reason: "the public key does not match the secret key")
        }
        return keys
    }

    private static func associatedData(_ publicKey: [UInt8], purpose: Purpose) -> [UInt8] {
        Array(purpose.associatedDataLabel.utf8) + [0] + publicKey
    }
}
