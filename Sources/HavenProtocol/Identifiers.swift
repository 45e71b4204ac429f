public import Sodium

/// A member's identity: their Ed25519 public key (32 bytes). There is no other account.
public struct MemberID: Hashable, Sendable, Codable, CustomStringConvertible {
    /// The Ed25519 public key.
    public let publicKey: SigningPublicKey

    /// Wraps a public key.
    public init(_ publicKey: SigningPublicKey) { self.publicKey = publicKey }

    /// Parses 32 raw bytes. - Throws: ``ProtocolError/wrongLength(field:length:expected:)``.
    public init(bytes: [UInt8], field: String = "member") throws(ProtocolError) {
        do {
            publicKey = try SigningPublicKey(bytes: bytes)
        } catch {
            throw .wrongLength(field: field, length: bytes.count, expected: SigningPublicKey.length)
        }
    }

    /// The raw key bytes.
    public var bytes: [UInt8] { publicKey.bytes }

    public init(from decoder: any Decoder) throws {
        let wire = try WireBytes(from: decoder)
        try self.init(bytes: wire.bytes, field: decoder.codingPath.fieldName)
    }

    public func encode(to encoder: any Encoder) throws {
        try WireBytes(bytes).encode(to: encoder)
    }

    public var description: String { publicKey.description }
}

/// A message id: 16 random bytes chosen by the sender. Resending with the same id is idempotent.
public struct MessageID: Hashable, Sendable, Codable, CustomStringConvertible {
    /// Length in bytes.
    public static let length = 16
    /// The raw bytes.
    public let bytes: [UInt8]

    /// Parses raw bytes. - Throws: ``ProtocolError/wrongLength(field:length:expected:)``.
    public init(bytes: [UInt8], field: String = "id") throws(ProtocolError) {
        guard bytes.count == Self.length else {
            throw .wrongLength(field: field, length: bytes.count, expected: Self.length)
        }
        self.bytes = bytes
    }

    /// A fresh random id.
    public static func random() -> MessageID {
        // 16 bytes from the CSPRNG always have the right length.
        try! MessageID(bytes: RandomBytes.bytes(count: length))
    }

    public init(from decoder: any Decoder) throws {
        let wire = try WireBytes(from: decoder)
        try self.init(bytes: wire.bytes, field: decoder.codingPath.fieldName)
    }

    public func encode(to encoder: any Encoder) throws {
        try WireBytes(bytes).encode(to: encoder)
    }

    public var description: String { Base64URL.encode(bytes) }
}

/// A room's id: 1 to 64 characters from `a-z 0-9 _ -`, chosen by the operator.
public struct RoomID: Hashable, Sendable, Codable, CustomStringConvertible {
    /// The id text.
    public let value: String

    private static let allowed = Set("abcdefghijklmnopqrstuvwxyz0123456789_-".utf8)

    /// Validates an id. - Throws: ``ProtocolError/invalidField(_:reason:)``.
    public init(_ value: String, field: String = "room") throws(ProtocolError) {
        let bytes = Array(value.utf8)
        guard !bytes.isEmpty, bytes.count <= ProtocolLimits.maxRoomIDBytes, bytes.allSatisfy(Self.allowed.contains) else {
            throw .invalidField(field, reason: "a room id is 1-\(ProtocolLimits.maxRoomIDBytes) characters of a-z 0-9 _ -")
        }
        self.value = value
    }

    public init(from decoder: any Decoder) throws {
        try self.init(decoder.singleValueContainer().decode(String.self), field: decoder.codingPath.fieldName)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(value)
    }

    public var description: String { value }
}
