import Sodium

/// The protocol version and every size limit, in one place (docs/protocol.md lists the same).
public enum ProtocolLimits {
    /// The only protocol version this implementation speaks.
    public static let version = 1
    /// Largest frame, in UTF-8 bytes of JSON text.
    public static let maxFrameBytes = 128 * 1024
    /// Largest message body (the JSON inside the encryption), in bytes.
    public static let maxBodyBytes = 64 * 1024
    /// Largest room-message ciphertext: franking key + body, padded, + AEAD tag.
    public static let maxRoomCiphertextBytes = MessagePadding.bucket(Franking.keyLength + maxBodyBytes + 1) + 16
    /// Largest sealed direct message: sender + signature + franking key + body, padded, +
    /// sealed-box overhead.
    public static let maxSealedDirectBytes = MessagePadding.bucket(
        SigningPublicKey.length + SigningPublicKey.signatureLength + Franking.keyLength + maxBodyBytes + 1, floor: MessagePadding.sealedFloor)
        + SealedBox.overhead
    /// Longest room id, in bytes (`[a-z0-9_-]`).
    public static let maxRoomIDBytes = 64
    /// Longest display name, in UTF-8 bytes.
    public static let maxDisplayNameBytes = 64
    /// Longest text in a message body, in UTF-8 bytes.
    public static let maxTextBytes = 16 * 1024
    /// Largest attachment, in plaintext bytes.
    public static let maxAttachmentBytes = 10 * 1024 * 1024
    /// Longest attachment file name, in UTF-8 bytes.
    public static let maxFileNameBytes = 200
    /// The longest reason a moderator may give with an action, in UTF-8 bytes.
    public static let maxReasonBytes = 300
    /// Largest integer a JSON number may carry so that JavaScript reads it exactly (2^53 - 1).
    public static let maxSafeInteger: UInt64 = (1 << 53) - 1
    /// Messages the server replays per store read while a client catches up.
    public static let replayPage = 500

    /// Throws unless `value` (when present) is at most 2^53-1.
    static func checkInteger(_ value: UInt64?, field: String) throws(ProtocolError) {
        guard let value, value > maxSafeInteger else { return }
        throw .invalidField(field, reason: "must be at most 2^53-1")
    }
}
