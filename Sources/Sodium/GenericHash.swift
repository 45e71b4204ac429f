import CSodium

/// BLAKE2b (`crypto_generichash`), keyed or not.
public enum GenericHash {
    /// Output length allowed by BLAKE2b, in bytes (16...64).
    public static let outputLengthRange = Int(crypto_generichash_bytes_min())...Int(crypto_generichash_bytes_max())
    /// Key length allowed for keyed hashing, in bytes (16...64).
    public static let keyLengthRange = Int(crypto_generichash_keybytes_min())...Int(crypto_generichash_keybytes_max())

    /// Hashes `message`, keyed with `key` when one is given (a MAC / commitment), to `outputLength` bytes.
    ///
    /// - Throws: ``SodiumError/outputLengthUnsupported(what:length:range:)`` for a length or key size
    ///   BLAKE2b does not support.
    public static func hash(_ message: [UInt8], key: SecretBytes? = nil, outputLength: Int = 32) throws(SodiumError) -> [UInt8] {
        SodiumLibrary.ensureInitialized()
        guard outputLengthRange.contains(outputLength) else {
            throw .outputLengthUnsupported(what: "BLAKE2b output", length: outputLength, range: outputLengthRange)
        }
        var output = [UInt8](repeating: 0, count: outputLength)
        guard let key else {
            _ = crypto_generichash(&output, outputLength, message, UInt64(message.count), nil, 0)
            return output
        }
        try checkKeyLength(key.count)
        key.withUnsafeBytes { hash(message, keyBytes: $0, into: &output) }
        return output
    }

    /// Keyed BLAKE2b with a key that is not a long-lived secret (a per-message franking key, which
    /// is revealed when the message is reported), so it need not live in secure memory.
    public static func hash(_ message: [UInt8], publicKey key: [UInt8], outputLength: Int = 32) throws(SodiumError) -> [UInt8] {
        SodiumLibrary.ensureInitialized()
        guard outputLengthRange.contains(outputLength) else {
            throw .outputLengthUnsupported(what: "BLAKE2b output", length: outputLength, range: outputLengthRange)
        }
        var output = [UInt8](repeating: 0, count: outputLength)
        try checkKeyLength(key.count)
        key.withUnsafeBytes { hash(message, keyBytes: $0, into: &output) }
        return output
    }

    private static func checkKeyLength(_ length: Int) throws(SodiumError) {
        guard keyLengthRange.contains(length) else {
            throw .outputLengthUnsupported(what: "BLAKE2b key", length: length, range: keyLengthRange)
        }
    }

    private static func hash(_ message: [UInt8], keyBytes: UnsafeRawBufferPointer, into output: inout [UInt8]) {
        _ = crypto_generichash(
            &output, output.count, message, UInt64(message.count),
            keyBytes.baseAddress!.assumingMemoryBound(to: UInt8.self), keyBytes.count)
    }
}
