import CSodium

/// Unpredictable bytes from libsodium's CSPRNG (the kernel's `getrandom`).
public enum RandomBytes {
    /// Returns `count` random bytes, for public values such as nonces and message ids.
    /// Use ``SecretBytes/random(count:)`` for keys.
    public static func bytes(count: Int) -> [UInt8] {
        SodiumLibrary.ensureInitialized()
        var result = [UInt8](repeating: 0, count: count)
        result.withUnsafeMutableBytes { buffer in
            if let base = buffer.baseAddress { randombytes_buf(base, buffer.count) }
        }
        return result
    }
}
