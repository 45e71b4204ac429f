import CSodium

/// SHA-256 and SHA-512 (`crypto_hash_sha256`, `crypto_hash_sha512`), for what other software
/// checks with them: Subresource Integrity and Content-Security-Policy hashes of the widget's files.
public enum SHA2 {
    /// The 32-byte SHA-256 of `message`.
    public static func sha256(_ message: [UInt8]) -> [UInt8] {
        SodiumLibrary.ensureInitialized()
        var output = [UInt8](repeating: 0, count: Int(crypto_hash_sha256_bytes()))
        _ = crypto_hash_sha256(&output, message, UInt64(message.count))
        return output
    }

    /// The 64-byte SHA-512 of `message`.
    public static func sha512(_ message: [UInt8]) -> [UInt8] {
        SodiumLibrary.ensureInitialized()
        var output = [UInt8](repeating: 0, count: Int(crypto_hash_sha512_bytes()))
        _ = crypto_hash_sha512(&output, message, UInt64(message.count))
        return output
    }
}
