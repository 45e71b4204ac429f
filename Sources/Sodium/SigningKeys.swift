import CSodium

/// An Ed25519 public key: a member's identity and the key their signatures verify against.
public struct SigningPublicKey: Hashable, Sendable, CustomStringConvertible {
    /// Length of an Ed25519 public key in bytes.
    public static let length = Int(crypto_sign_publickeybytes())
    /// Length of an Ed25519 signature in bytes.
    public static let signatureLength = Int(crypto_sign_bytes())

    /// The 32 raw key bytes.
    public let bytes: [UInt8]

    /// Wraps 32 raw bytes. - Throws: ``SodiumError/wrongLength(what:length:expected:)``.
    public init(bytes: [UInt8]) throws(SodiumError) {
        try requireLength(bytes, Self.length, "Ed25519 public key")
        self.bytes = bytes
    }

    /// Checks a detached signature over `message`.
    ///
    /// - Throws: ``SodiumError/wrongLength(what:length:expected:)`` for a malformed signature,
    ///   ``SodiumError/signatureInvalid`` when it does not verify.
    public func verify(signature: [UInt8], of message: [UInt8]) throws(SodiumError) {
        SodiumLibrary.ensureInitialized()
        try requireLength(signature, Self.signatureLength, "Ed25519 signature")
        let status = crypto_sign_verify_detached(signature, message, UInt64(message.count), bytes)
        guard status == 0 else { throw .signatureInvalid }
    }

    /// The X25519 form of this key, which sealed boxes are addressed to.
    ///
    /// - Throws: ``SodiumError/keyConversionFailed`` for a key that is not a valid point.
    public func boxPublicKey() throws(SodiumError) -> BoxPublicKey {
        SodiumLibrary.ensureInitialized()
        var converted = [UInt8](repeating: 0, count: BoxPublicKey.length)
        guard crypto_sign_ed25519_pk_to_curve25519(&converted, bytes) == 0 else {
            throw .keyConversionFailed
        }
        return try BoxPublicKey(bytes: converted)
    }

    /// The key in base64url, as it appears on the wire.
    public var description: String { Base64URL.encode(bytes) }
}

/// An Ed25519 keypair whose secret half lives in secure memory.
public struct SigningKeyPair: Sendable {
    /// Length of the seed a keypair is derived from.
    public static let seedLength = Int(crypto_sign_seedbytes())

    /// The public half.
    public let publicKey: SigningPublicKey
    /// libsodium's 64-byte secret key (seed followed by public key), in secure memory.
    let secretKey: SecretBytes

    /// Generates a fresh random keypair.
    public static func generate() throws -> SigningKeyPair {
        try SigningKeyPair(seed: SecretBytes.random(count: seedLength))
    }

    /// Derives the keypair for a 32-byte seed; the same seed always gives the same keys.
    ///
    /// - Throws: ``SodiumError/wrongLength(what:length:expected:)`` or a secure-memory error.
    public init(seed: SecretBytes) throws {
        SodiumLibrary.ensureInitialized()
        guard seed.count == Self.seedLength else {
            throw SodiumError.wrongLength(what: "Ed25519 seed", length: seed.count, expected: Self.seedLength)
        }
        var publicBytes = [UInt8](repeating: 0, count: SigningPublicKey.length)
        secretKey = try SecretBytes(count: Int(crypto_sign_secretkeybytes())) { secret in
            seed.withUnsafeBytes { seedBytes in
                _ = crypto_sign_seed_keypair(
                    &publicBytes,
                    secret.baseAddress!.assumingMemoryBound(to: UInt8.self),
                    seedBytes.baseAddress!.assumingMemoryBound(to: UInt8.self))
            }
        }
        publicKey = try SigningPublicKey(bytes: publicBytes)
    }

    /// The 32-byte seed this keypair derives from, in secure memory (for encrypted key files).
    public func seed() throws -> SecretBytes {
        try SecretBytes(count: Self.seedLength) { seed in
            secretKey.withUnsafeBytes { secret in
                _ = crypto_sign_ed25519_sk_to_seed(
                    seed.baseAddress!.assumingMemoryBound(to: UInt8.self),
                    secret.baseAddress!.assumingMemoryBound(to: UInt8.self))
            }
        }
    }

    /// Signs `message`, returning a 64-byte detached signature. Ed25519 signing is deterministic.
    public func sign(_ message: [UInt8]) -> [UInt8] {
        var signature = [UInt8](repeating: 0, count: SigningPublicKey.signatureLength)
        secretKey.withUnsafeBytes { secret in
            _ = crypto_sign_detached(
                &signature, nil, message, UInt64(message.count),
                secret.baseAddress!.assumingMemoryBound(to: UInt8.self))
        }
        return signature
    }

    /// The X25519 keypair for opening sealed boxes addressed to this identity.
    public func boxKeyPair() throws -> BoxKeyPair {
        let boxSecret = try SecretBytes(count: BoxKeyPair.secretKeyLength) { converted in
            secretKey.withUnsafeBytes { secret in
                _ = crypto_sign_ed25519_sk_to_curve25519(
                    converted.baseAddress!.assumingMemoryBound(to: UInt8.self),
                    secret.baseAddress!.assumingMemoryBound(to: UInt8.self))
            }
        }
        return BoxKeyPair(publicKey: try publicKey.boxPublicKey(), secretKey: boxSecret)
    }
}
