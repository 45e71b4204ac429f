/// The byte strings that are signed or used as associated data.
///
/// Each starts with a domain label (ASCII, then one zero byte) so a signature made for one
/// purpose can never be replayed as another; each field follows as a 4-byte big-endian length
/// and its bytes, and integers as 8-byte big-endian. docs/crypto.md spells out every layout.
struct CanonicalBytes {
    private(set) var bytes: [UInt8]

    /// Starts a byte string for `label`, e.g. "haven/v1/room-message".
    init(label: String) {
        bytes = Array(label.utf8) + [0]
    }

    /// Appends a length-prefixed field.
    mutating func append(_ field: [UInt8]) {
        append(UInt32(field.count))
        bytes += field
    }

    /// Appends a length-prefixed UTF-8 string.
    mutating func append(_ text: String) {
        append(Array(text.utf8))
    }

    /// Appends an 8-byte big-endian integer.
    mutating func append(_ number: UInt64) {
        bytes += (0..<8).reversed().map { UInt8(truncatingIfNeeded: number >> ($0 * 8)) }
    }

    private mutating func append(_ number: UInt32) {
        bytes += (0..<4).reversed().map { UInt8(truncatingIfNeeded: number >> ($0 * 8)) }
    }
}

/// Every domain label in use; a new signed structure gets a new label.
enum DomainLabel {
    static let auth = "haven/v1/auth"
    static let proofOfWork = "haven/v1/proof-of-work"
    static let roomMessage = "haven/v1/room-message"
    static let roomMessageAD = "haven/v1/room-message-ad"
    static let epochKey = "haven/v1/epoch-key"
    static let directMessage = "haven/v1/direct-message"
    static let callSignal = "haven/v1/call-signal"
    static let franking = "haven/v1/franking"
    static let invite = "haven/v1/invite"
    static let staff = "haven/v1/staff"
    static let staffRoster = "haven/v1/staff-roster"
    static let moderation = "haven/v1/moderation"
    static let roomLog = "haven/v1/room-log"
    static let roomLogHash = "haven/v1/room-log-hash"
    static let epochCommitment = "haven/v1/epoch-commitment"
    static let roomMessageLogged = "haven/v1/room-message-logged"
}
