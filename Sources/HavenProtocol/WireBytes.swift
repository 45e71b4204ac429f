import Sodium

/// Binary data on the wire: a JSON string in unpadded base64url.
public struct WireBytes: Hashable, Sendable, Codable, CustomStringConvertible {
    /// The raw bytes.
    public var bytes: [UInt8]

    /// Wraps raw bytes.
    public init(_ bytes: [UInt8]) { self.bytes = bytes }

    /// The number of raw bytes.
    public var count: Int { bytes.count }

    public init(from decoder: any Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        do {
            bytes = try Base64URL.decode(text)
        } catch {
            throw ProtocolError.invalidBase64(field: decoder.codingPath.fieldName)
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(Base64URL.encode(bytes))
    }

    public var description: String { Base64URL.encode(bytes) }

    /// Throws unless exactly `expected` bytes long.
    func require(length expected: Int, field: String) throws(ProtocolError) {
        guard count == expected else { throw .wrongLength(field: field, length: count, expected: expected) }
    }

    /// Throws when longer than `limit` bytes.
    func require(atMost limit: Int, field: String) throws(ProtocolError) {
        guard count <= limit else { throw .fieldTooLarge(field: field, size: count, limit: limit) }
    }
}

extension Array where Element == any CodingKey {
    /// A dotted path such as `envelope.sender`, for error messages.
    var fieldName: String {
        map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }.joined(separator: ".")
    }
}
