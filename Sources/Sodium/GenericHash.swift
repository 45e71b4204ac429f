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
        guard keyLengthRange.contains(key.count) else {
            throw .outputLengthUnsupported(what: "BLAKE2b key", length: key.count, range: keyLengthRange)
        }
        key.withUnsafeBytes { keyBytes in
            _ = crypto_generichash(
                &output, outputLength, message, UInt64(message.count),
                keyBytes.baseAddress!.assumingMemoryBound(to: UInt8.self), keyBytes.count)
        }
        return output
    }
}
