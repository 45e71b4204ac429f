import CSodium

/// XChaCha20-Poly1305-IETF authenticated encryption with associated data.
///
/// Nonces are 24 random bytes, drawn fresh for every message by ``seal(_:associatedData:key:)``;
/// at that length random nonces do not repeat in practice, so callers never manage counters.
public enum AEAD {
    /// Key length in bytes (32).
    public static let keyLength = Int(crypto_aead_xchacha20poly1305_ietf_keybytes())
    /// Nonce length in bytes (24).
    public static let nonceLength = Int(crypto_aead_xchacha20poly1305_ietf_npubbytes())
    /// Authentication tag length in bytes (16), appended to the ciphertext.
    public static let tagLength = Int(crypto_aead_xchacha20poly1305_ietf_abytes())

    /// A fresh random key in secure memory.
    public static func generateKey() throws -> SecretBytes {
        try SecretBytes.random(count: keyLength)
    }

    /// Encrypts `plaintext` under `key` with a fresh random nonce, binding `associatedData`.
    ///
    /// - Returns: the nonce and the ciphertext (plaintext length + 16-byte tag).
    /// - Throws: ``SodiumError/wrongLength(what:length:expected:)`` for a key that is not 32 bytes.
    public static func seal(
        _ plaintext: [UInt8], associatedData: [UInt8], key: SecretBytes
    ) throws(SodiumError) -> (nonce: [UInt8], ciphertext: [UInt8]) {
        let nonce = RandomBytes.bytes(count: nonceLength)
        return (nonce, try seal(plaintext, associatedData: associatedData, nonce: nonce, key: key))
    }

    /// Encrypts with a caller-chosen nonce. Only for reproducible test vectors (hence the SPI):
    /// a nonce must never be used twice with one key.
    @_spi(TestVectors)
    public static func seal(
        _ plaintext: [UInt8], associatedData: [UInt8], nonce: [UInt8], key: SecretBytes
    ) throws(SodiumError) -> [UInt8] {
        try checkKeyAndNonce(key: key, nonce: nonce)
        var ciphertext = [UInt8](repeating: 0, count: plaintext.count + tagLength)
        var written: UInt64 = 0
        key.withUnsafeBytes { keyBytes in
            _ = crypto_aead_xchacha20poly1305_ietf_encrypt(
                &ciphertext, &written, plaintext, UInt64(plaintext.count),
                associatedData, UInt64(associatedData.count), nil, nonce,
                keyBytes.baseAddress!.assumingMemoryBound(to: UInt8.self))
        }
        return ciphertext
    }

    /// Decrypts and authenticates `ciphertext`.
    ///
    /// - Throws: ``SodiumError/tooShort(what:length:minimum:)`` for input shorter than the tag,
    ///   ``SodiumError/authenticationFailed`` for a wrong key, nonce, associated data or any altered byte.
    public static func open(
        _ ciphertext: [UInt8], associatedData: [UInt8], nonce: [UInt8], key: SecretBytes
    ) throws(SodiumError) -> [UInt8] {
        try checkKeyAndNonce(key: key, nonce: nonce)
        guard ciphertext.count >= tagLength else {
            throw .tooShort(what: "ciphertext", length: ciphertext.count, minimum: tagLength)
        }
        var plaintext = [UInt8](repeating: 0, count: ciphertext.count - tagLength)
        var written: UInt64 = 0
        let status = key.withUnsafeBytes { keyBytes in
            crypto_aead_xchacha20poly1305_ietf_decrypt(
                &plaintext, &written, nil, ciphertext, UInt64(ciphertext.count),
                associatedData, UInt64(associatedData.count), nonce,
                keyBytes.baseAddress!.assumingMemoryBound(to: UInt8.self))
        }
        guard status == 0 else { throw .authenticationFailed }
        return plaintext
    }

    private static func checkKeyAndNonce(key: SecretBytes, nonce: [UInt8]) throws(SodiumError) {
        SodiumLibrary.ensureInitialized()
        guard key.count == keyLength else {
            throw .wrongLength(what: "AEAD key", length: key.count, expected: keyLength)
        }
        try requireLength(nonce, nonceLength, "AEAD nonce")
    }
}
