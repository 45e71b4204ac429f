/// Every way a libsodium operation can fail, with a message a person can act on.
///
/// Descriptions never contain key material, plaintext or ciphertext bytes.
public enum SodiumError: Error, Equatable, Sendable, CustomStringConvertible {
    /// `sodium_init` failed; the library cannot be used in this process.
    case initializationFailed
    /// `sodium_malloc` could not provide locked secure memory of this size.
    case secureMemoryUnavailable(bytes: Int)
    /// A key, seed, nonce or similar input had the wrong length.
    case wrongLength(what: String, length: Int, expected: Int)
    /// An input was shorter than the smallest valid value.
    case tooShort(what: String, length: Int, minimum: Int)
    /// An Ed25519 signature did not verify against the public key and message.
    case signatureInvalid
    /// An Ed25519 public key is not a point that converts to X25519.
    case keyConversionFailed
    /// A sealed box was altered, truncated or not addressed to this key.
    case sealedBoxNotOpened
    /// AEAD or secretstream ciphertext failed its Poly1305 check.
    case authenticationFailed
    /// A secretstream ended without its final chunk (it was truncated).
    case streamTruncated
    /// A secretstream carried data after its final chunk.
    case streamDataAfterFinal
    /// Argon2id could not run with the requested limits (usually out of memory).
    case passwordHashingFailed
    /// A stored Argon2id hash string is malformed.
    case passwordHashMalformed
    /// A requested output length is outside what the primitive allows.
    case outputLengthUnsupported(what: String, length: Int, range: ClosedRange<Int>)
    /// Padded bytes did not end in ISO/IEC 7816-4 padding (0x80 then zeros).
    case paddingInvalid
    /// A base64url string contained a character outside the URL-safe alphabet, padding, or stray bits.
    case invalidBase64(length: Int)

    public var description: String {
        switch self {
        case .initializationFailed:
            return "libsodium could not be initialised"
        case .secureMemoryUnavailable(let bytes):
            return "secure memory is unavailable for \(bytes) bytes (raise the locked-memory limit)"
        case .wrongLength(let what, let length, let expected):
            return "\(what) has the wrong length: \(length) bytes, need \(expected)"
        case .tooShort(let what, let length, let minimum):
            return "\(what) is too short: \(length) bytes, need at least \(minimum)"
        case .signatureInvalid:
            return "signature does not verify"
        case .keyConversionFailed:
            return "public key is not a valid Ed25519 point"
        case .sealedBoxNotOpened:
            return "sealed box could not be opened: altered or not addressed to this key"
        case .authenticationFailed:
            return "ciphertext failed authentication"
        case .streamTruncated:
            return "encrypted stream is truncated: its final chunk is missing"
        case .streamDataAfterFinal:
            return "encrypted stream has data after its final chunk"
        case .passwordHashingFailed:
            return "password hashing failed (not enough memory for the chosen limits)"
        case .passwordHashMalformed:
            return "stored password hash is malformed"
        case .outputLengthUnsupported(let what, let length, let range):
            return "\(what) length \(length) is unsupported: must be \(range.lowerBound)...\(range.upperBound)"
        case .paddingInvalid:
            return "padding is invalid: no 0x80 marker followed only by zeros"
        case .invalidBase64(let length):
            return "invalid base64url text (\(length) characters): use the URL-safe alphabet without padding"
        }
    }
}
