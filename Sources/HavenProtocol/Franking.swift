import Sodium

/// Message franking: a keyed-hash commitment to a message's plaintext, signed by the sender.
///
/// The sender draws a fresh 32-byte franking key per message and puts it inside the encryption;
/// the commitment travels outside, under the sender's signature. Reporting a message reveals the
/// franking key and body for that one message, and anyone can check them against the commitment
/// without learning anything else.
public enum Franking {
    /// Length of a franking key in bytes.
    public static let keyLength = 32
    /// Length of a commitment in bytes.
    public static let commitmentLength = 32

    /// A fresh random franking key.
    public static func generateKey() -> [UInt8] {
        RandomBytes.bytes(count: keyLength)
    }

    /// The commitment: BLAKE2b-256 keyed with `key` over `"haven/v1/franking" 0x00 || len32(body) || body`.
    public static func commitment(body: [UInt8], key: [UInt8]) throws(ProtocolError) -> [UInt8] {
        guard key.count == keyLength else {
            throw .wrongLength(field: "frankingKey", length: key.count, expected: keyLength)
        }
        var input = CanonicalBytes(label: DomainLabel.franking)
        input.append(body)
        // A 32-byte key and output are always within BLAKE2b's limits.
        return try! GenericHash.hash(input.bytes, publicKey: key, outputLength: commitmentLength)
    }

    /// Checks that `body` and `key` open `commitment`.
    ///
    /// - Throws: ``ProtocolError/frankingMismatch``.
    public static func verify(body: [UInt8], key: [UInt8], commitment: [UInt8]) throws(ProtocolError) {
        guard try Self.commitment(body: body, key: key) == commitment else { throw .frankingMismatch }
    }
}
