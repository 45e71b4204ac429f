import CSodium

/// An X25519 public key, the address of a sealed box.
public struct BoxPublicKey: Hashable, Sendable {
    /// Length of an X25519 public key in bytes.
    public static let length = Int(crypto_box_publickeybytes())

    /// The 32 raw key bytes.
    public let bytes: [UInt8]

    /// Wraps 32 raw bytes. - Throws: ``SodiumError/wrongLength(what:length:expected:)``.
    public init(bytes: [UInt8]) throws(SodiumError) {
        try requireLength(bytes, Self.length, "X25519 public key")
        self.bytes = bytes
    }

    /// Encrypts `plaintext` anonymously to this key (`crypto_box_seal`): only the holder of the
    /// matching secret key can open it, and the box does not say who sealed it.
    public func seal(_ plaintext: [UInt8]) -> [UInt8] {
        SodiumLibrary.ensureInitialized()
        var sealed = [UInt8](repeating: 0, count: plaintext.count + SealedBox.overhead)
        _ = crypto_box_seal(&sealed, plaintext, UInt64(plaintext.count), bytes)
        return sealed
    }

    /// Seals a secret without copying it out of secure memory first.
    public func seal(_ secret: SecretBytes) -> [UInt8] {
        SodiumLibrary.ensureInitialized()
        var sealed = [UInt8](repeating: 0, count: secret.count + SealedBox.overhead)
        secret.withUnsafeBytes { plain in
            _ = crypto_box_seal(
                &sealed, plain.baseAddress!.assumingMemoryBound(to: UInt8.self), UInt64(plain.count), bytes)
        }
        return sealed
    }
}

/// Sizes of `crypto_box_seal` output.
public enum SealedBox {
    /// Bytes a sealed box adds to its plaintext: an ephemeral public key and a MAC (48).
    public static let overhead = Int(crypto_box_sealbytes())
}

/// An X25519 keypair for opening sealed boxes; usually derived from a ``SigningKeyPair``.
public struct BoxKeyPair: Sendable {
    /// Length of an X25519 secret key in bytes.
    public static let secretKeyLength = Int(crypto_box_secretkeybytes())

    /// The public half, to which boxes are sealed.
    public let publicKey: BoxPublicKey
    private let secretKey: SecretBytes

    init(publicKey: BoxPublicKey, secretKey: SecretBytes) {
        self.publicKey = publicKey
        self.secretKey = secretKey
    }

    /// Opens a sealed box addressed to this keypair.
    ///
    /// - Throws: ``SodiumError/tooShort(what:length:minimum:)`` for input shorter than the
    ///   48-byte overhead, ``SodiumError/sealedBoxNotOpened`` when altered or addressed elsewhere.
    public func open(_ sealed: [UInt8]) throws(SodiumError) -> [UInt8] {
        try checkLength(sealed)
        var plaintext = [UInt8](repeating: 0, count: sealed.count - SealedBox.overhead)
        let status = secretKey.withUnsafeBytes { secret in
            crypto_box_seal_open(
                &plaintext, sealed, UInt64(sealed.count), publicKey.bytes,
                secret.baseAddress!.assumingMemoryBound(to: UInt8.self))
        }
        guard status == 0 else { throw .sealedBoxNotOpened }
        return plaintext
    }

    /// Opens a sealed box whose content is itself a secret, decrypting straight into secure memory.
    public func openSecret(_ sealed: [UInt8]) throws -> SecretBytes {
        try checkLength(sealed)
        var status: Int32 = -1
        let opened = try SecretBytes(count: sealed.count - SealedBox.overhead) { plaintext in
            status = secretKey.withUnsafeBytes { secret in
                crypto_box_seal_open(
                    plaintext.baseAddress!.assumingMemoryBound(to: UInt8.self), sealed, UInt64(sealed.count),
                    publicKey.bytes, secret.baseAddress!.assumingMemoryBound(to: UInt8.self))
            }
        }
        guard status == 0 else { throw SodiumError.sealedBoxNotOpened }
        return opened
    }

    private func checkLength(_ sealed: [UInt8]) throws(SodiumError) {
        guard sealed.count >= SealedBox.overhead else {
            throw .tooShort(what: "sealed box", length: sealed.count, minimum: SealedBox.overhead)
        }
    }
}
