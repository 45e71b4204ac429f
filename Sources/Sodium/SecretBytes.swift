import CSodium

/// Bytes that must stay secret: keys, seeds, epoch keys.
///
/// The bytes live in libsodium secure memory (`sodium_malloc`: guard pages, `mlock`ed so they
/// are never swapped, read-only after creation) and are zeroed by `sodium_free` when the last
/// copy is released. The type is deliberately not `Equatable`, `Hashable`, `Codable` or
/// printable: compare with ``constantTimeEquals(_:)`` and reveal bytes only through
/// ``withUnsafeBytes(_:)``.
public struct SecretBytes: Sendable, CustomStringConvertible, CustomDebugStringConvertible {
    private let storage: Storage

    /// The number of secret bytes.
    public var count: Int { storage.count }

    /// Allocates `count` bytes of secure memory and lets `initializer` fill them.
    ///
    /// - Throws: ``SodiumError/secureMemoryUnavailable(bytes:)``, or whatever `initializer` throws.
    public init(count: Int, initializer: (UnsafeMutableRawBufferPointer) throws -> Void) throws {
        storage = try Storage(count: count)
        try initializer(UnsafeMutableRawBufferPointer(start: storage.pointer, count: count))
        storage.makeReadOnly()
    }

    /// Fresh random secret bytes from libsodium's CSPRNG.
    public static func random(count: Int) throws -> SecretBytes {
        try SecretBytes(count: count) { buffer in
            if let base = buffer.baseAddress { randombytes_buf(base, buffer.count) }
        }
    }

    /// Copies `bytes` into secure memory and zeroes the caller's array afterwards.
    public init(consuming bytes: inout [UInt8]) throws {
        try self.init(count: bytes.count) { buffer in
            buffer.copyBytes(from: bytes)
        }
        bytes.withUnsafeMutableBytes { buffer in
            if let base = buffer.baseAddress { sodium_memzero(base, buffer.count) }
        }
    }

    /// Calls `body` with read access to the secret bytes; do not let the pointer escape.
    public func withUnsafeBytes<Result>(_ body: (UnsafeRawBufferPointer) throws -> Result) rethrows -> Result {
        try body(UnsafeRawBufferPointer(start: storage.pointer, count: storage.count))
    }

    /// Compares two secrets in constant time (for equal lengths); different lengths are unequal.
    public func constantTimeEquals(_ other: SecretBytes) -> Bool {
        withUnsafeBytes { mine in
            other.withUnsafeBytes { theirs in ConstantTime.equals(mine, theirs) }
        }
    }

    /// Copies the secret out of secure memory, for the rare caller that must hand it to a
    /// format (a test vector, an encrypted key file). The caller owns the copy's lifetime.
    public func copyBytes() -> [UInt8] {
        withUnsafeBytes { Array($0) }
    }

    public var description: String { "SecretBytes(\(count) bytes, redacted)" }
    public var debugDescription: String { description }

    /// Owns one `sodium_malloc` region; `sodium_free` zeroes and unlocks it.
    ///
    /// `@unchecked Sendable`: the region is written only inside `init` before the storage is
    /// shared, then made read-only with `sodium_mprotect_readonly`, so concurrent reads are safe.
    private final class Storage: @unchecked Sendable {
        let pointer: UnsafeMutableRawPointer
        let count: Int

        init(count: Int) throws {
            SodiumLibrary.ensureInitialized()
            guard let pointer = sodium_malloc(Swift.max(count, 1)) else {
                throw SodiumError.secureMemoryUnavailable(bytes: count)
            }
            self.pointer = pointer
            self.count = count
        }

        func makeReadOnly() {
            sodium_mprotect_readonly(pointer)
        }

        deinit {
            sodium_free(pointer)
        }
    }
}
