import Foundation
public import HavenProtocol
public import Sodium

/// The organisation's signing key at rest: its Ed25519 seed encrypted with XChaCha20-Poly1305
/// under a key derived by Argon2id from the operator's passphrase (docs/crypto.md, "Key files").
///
/// The JSON document holds only the public key, the KDF parameters, the nonce and the
/// ciphertext; the associated data binds the public key, so swapping it is detected.
public struct OrganisationKeyFile: Codable, Sendable, Equatable {
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
    /// Always "haven-organisation-key".
    public var kind: String
    /// The organisation's Ed25519 public key.
    public var publicKey: WireBytes
    /// How the encryption key is derived from the passphrase.
    public var kdf: KeyDerivation
    /// The AEAD nonce.
    public var nonce: WireBytes
    /// The encrypted 32-byte seed (48 bytes with the tag).
    public var ciphertext: WireBytes

    static let kindName = "haven-organisation-key"
    static let associatedDataLabel = "haven/v1/organisation-key-file"

    /// Encrypts `keys` under `passphrase`.
    public static func seal(_ keys: SigningKeyPair, passphrase: SecretBytes, limits: PasswordHash.Limits = .moderate) throws -> OrganisationKeyFile {
        let salt = RandomBytes.bytes(count: PasswordHash.saltLength)
        let key = try PasswordHash.deriveKey(from: passphrase, salt: salt, length: AEAD.keyLength, limits: limits)
        let publicKey = keys.publicKey.bytes
        let (nonce, ciphertext) = try keys.seed().withUnsafeBytes { seed in
            try AEAD.seal(Array(seed), associatedData: associatedData(publicKey), key: key)
        }
        return OrganisationKeyFile(
            version: 1, kind: kindName, publicKey: WireBytes(publicKey),
            kdf: KeyDerivation(algorithm: "argon2id13", salt: WireBytes(salt), operations: limits.operations, memoryBytes: limits.memoryBytes),
            nonce: WireBytes(nonce), ciphertext: WireBytes(ciphertext))
    }

    /// Decrypts the keypair with `passphrase`.
    ///
    /// - Throws: ``KeyFileError/wrongPassphrase(path:)`` or ``KeyFileError/corrupt(path:reason:)``.
    public func open(passphrase: SecretBytes, path: String) throws -> SigningKeyPair {
        guard version == 1, kind == Self.kindName, kdf.algorithm == "argon2id13" else {
            throw KeyFileError.corrupt(path: path, reason: "unknown version or kind")
        }
        guard kdf.salt.count == PasswordHash.saltLength, nonce.count == AEAD.nonceLength, publicKey.count == 32 else {
            throw KeyFileError.corrupt(path: path, reason: "a field has the wrong length")
        }
        let limits = PasswordHash.Limits(operations: kdf.operations, memoryBytes: kdf.memoryBytes)
        let key = try PasswordHash.deriveKey(from: passphrase, salt: kdf.salt.bytes, length: AEAD.keyLength, limits: limits)
        var seed: [UInt8]
        do {
            seed = try AEAD.open(ciphertext.bytes, associatedData: Self.associatedData(publicKey.bytes), nonce: nonce.bytes, key: key)
        } catch {
            throw KeyFileError.wrongPassphrase(path: path)
        }
        let keys = try SigningKeyPair(seed: SecretBytes(consuming: &seed))
        guard keys.publicKey.bytes == publicKey.bytes else {
            throw KeyFileError.corrupt(path: path, reason: "the public key does not match the secret key")
        }
        return keys
    }

    private static func associatedData(_ publicKey: [UInt8]) -> [UInt8] {
        Array(associatedDataLabel.utf8) + [0] + publicKey
    }
}
