import CSodium

/// Argon2id (`crypto_pwhash`), for passphrases: storable hash strings and key derivation.
///
/// Argon2id is deliberately slow and memory-hard; never call it on an event-loop thread.
public enum PasswordHash {
    /// Length of the salt used by ``deriveKey(from:salt:length:limits:)`` (16).
    public static let saltLength = Int(crypto_pwhash_saltbytes())

    /// CPU and memory cost of one Argon2id computation.
    public struct Limits: Sendable, Equatable, Codable {
        /// Number of passes.
        public var operations: UInt64
        /// Memory in bytes.
        public var memoryBytes: Int

        /// Creates limits from explicit costs.
        public init(operations: UInt64, memoryBytes: Int) {
            self.operations = operations
            self.memoryBytes = memoryBytes
        }

        /// libsodium's interactive limits (2 passes, 64 MiB): for logins and unlocks.
        public static let interactive = Limits(
            operations: UInt64(crypto_pwhash_opslimit_interactive()), memoryBytes: crypto_pwhash_memlimit_interactive())
        /// libsodium's moderate limits (3 passes, 256 MiB): for keys at rest.
        public static let moderate = Limits(
            operations: UInt64(crypto_pwhash_opslimit_moderate()), memoryBytes: crypto_pwhash_memlimit_moderate())
        /// The smallest limits Argon2id accepts; for tests only.
        public static let minimum = Limits(
            operations: UInt64(crypto_pwhash_opslimit_min()), memoryBytes: crypto_pwhash_memlimit_min())
    }

    /// Hashes `password` into a self-describing `$argon2id$...` string with a random salt.
    ///
    /// - Throws: ``SodiumError/passwordHashingFailed`` when the limits cannot be met.
    public static func hashString(_ password: SecretBytes, limits: Limits = .interactive) throws(SodiumError) -> String {
        SodiumLibrary.ensureInitialized()
        var output = [CChar](repeating: 0, count: crypto_pwhash_strbytes())
        let status = password.withUnsafeBytes { bytes in
            crypto_pwhash_str_alg(
                &output, bytes.baseAddress!.assumingMemoryBound(to: CChar.self), UInt64(bytes.count),
                limits.operations, limits.memoryBytes, crypto_pwhash_alg_argon2id13())
        }
        guard status == 0 else { throw .passwordHashingFailed }
        return String(decoding: output.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// True when `password` matches a string made by ``hashString(_:limits:)``.
    ///
    /// - Throws: ``SodiumError/passwordHashMalformed`` for a string that is not an Argon2id hash.
    public static func verify(_ password: SecretBytes, against hash: String) throws(SodiumError) -> Bool {
        SodiumLibrary.ensureInitialized()
        guard hash.hasPrefix("$argon2id$"), hash.utf8.count < crypto_pwhash_strbytes() else {
            throw .passwordHashMalformed
        }
        return password.withUnsafeBytes { bytes in
            crypto_pwhash_str_verify(
                hash, bytes.baseAddress!.assumingMemoryBound(to: CChar.self), UInt64(bytes.count)) == 0
        }
    }

    /// Derives a `length`-byte key from `password` and a 16-byte `salt`; the same inputs always
    /// give the same key. The key is returned in secure memory.
    ///
    /// - Throws: ``SodiumError/wrongLength(what:length:expected:)`` for a bad salt,
    ///   ``SodiumError/passwordHashingFailed`` when the limits cannot be met.
    public static func deriveKey(
        from password: SecretBytes, salt: [UInt8], length: Int = 32, limits: Limits = .interactive
    ) throws -> SecretBytes {
        SodiumLibrary.ensureInitialized()
        try requireLength(salt, saltLength, "Argon2id salt")
        var status: Int32 = -1
        let key = try SecretBytes(count: length) { output in
            status = password.withUnsafeBytes { bytes in
                crypto_pwhash(
                    output.baseAddress!.assumingMemoryBound(to: UInt8.self), UInt64(length),
                    bytes.baseAddress!.assumingMemoryBound(to: CChar.self), UInt64(bytes.count), salt,
                    limits.operations, limits.memoryBytes, crypto_pwhash_alg_argon2id13())
            }
        }
        guard status == 0 else { throw SodiumError.passwordHashingFailed }
        return key
    }
}
