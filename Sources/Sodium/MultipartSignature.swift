import CSodium

/// An Ed25519ph signature over a message fed in parts (`crypto_sign_init`, `_update`,
/// `_final_create`, `_final_verify`): for a file too large to hold at once, such as a backup.
/// Its signatures are not interchangeable with ``SigningKeyPair/sign(_:)``'s (pure Ed25519), and
/// each use starts with its own label, so one kind of signed file cannot pass for another.
public struct MultipartSignature {
    private var state = crypto_sign_state()

    /// Starts a signature (or its check) over a message that begins with `label`.
    public init(label: String) {
        SodiumLibrary.ensureInitialized()
        _ = crypto_sign_init(&state)
        update(Array(label.utf8) + [0])
    }

    /// Feeds the next part of the message.
    public mutating func update(_ part: [UInt8]) {
        _ = crypto_sign_update(&state, part, UInt64(part.count))
    }

    /// The 64-byte signature of everything fed, by `keys`.
    public mutating func sign(by keys: SigningKeyPair) -> [UInt8] {
        keys.finish(&state)
    }

    /// Checks that `signature` is `key`'s over everything fed.
    ///
    /// - Throws: ``SodiumError/signatureInvalid``.
    public mutating func verify(_ signature: [UInt8], by key: SigningPublicKey) throws(SodiumError) {
        guard signature.count == SigningPublicKey.signatureLength,
              crypto_sign_final_verify(&state, signature, key.bytes) == 0
        else { throw .signatureInvalid }
    }
}

extension SigningKeyPair {
    /// Signs the multi-part message in `state` (``MultipartSignature``).
    func finish(_ state: inout crypto_sign_state) -> [UInt8] {
        var signature = [UInt8](repeating: 0, count: SigningPublicKey.signatureLength)
        secretKey.withUnsafeBytes { secret in
            _ = crypto_sign_final_create(&state, &signature, nil, secret.baseAddress!.assumingMemoryBound(to: UInt8.self))
        }
        return signature
    }
}
