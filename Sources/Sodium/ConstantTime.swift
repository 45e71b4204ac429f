import CSodium

/// Comparisons of secret values whose timing does not depend on the bytes compared.
public enum ConstantTime {
    /// True when `a` and `b` hold the same bytes; runs in time independent of their contents.
    ///
    /// Lengths are not secret: inputs of different lengths return `false` at once.
    public static func equals(_ a: UnsafeRawBufferPointer, _ b: UnsafeRawBufferPointer) -> Bool {
        SodiumLibrary.ensureInitialized()
        guard a.count == b.count else { return false }
        guard let left = a.baseAddress, let right = b.baseAddress else { return a.count == 0 }
        return sodium_memcmp(left, right, a.count) == 0
    }

    /// True when the two byte arrays are equal, compared in constant time.
    public static func equals(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        a.withUnsafeBytes { left in b.withUnsafeBytes { right in equals(left, right) } }
    }
}
