import Foundation
import Sodium

/// What a member writes: the plaintext inside a room message or direct message, as JSON.
///
/// The server never sees this structure; it is encrypted before it leaves the device.
public struct MessageBody: Codable, Sendable, Equatable {
    /// The text, up to ``ProtocolLimits/maxTextBytes`` UTF-8 bytes.
    public var text: String?
    /// An encrypted file shared with the message.
    public var attachment: AttachmentDescriptor?
    /// A call signalling step (only in direct messages carried by a ``CallFrame``).
    public var call: CallSignal?
    /// In a direct message: the sender's count of their direct messages to this recipient, from
    /// 1, so the recipient notices a replay (a repeat) or a message withheld (a skip).
    public var counter: UInt64?

    /// Creates a body; at least one of `text`, `attachment` and `call` must be present.
    public init(text: String? = nil, attachment: AttachmentDescriptor? = nil, call: CallSignal? = nil, counter: UInt64? = nil) {
        self.text = text
        self.attachment = attachment
        self.call = call
        self.counter = counter
    }

    /// Checks limits. - Throws: ``ProtocolError``.
    public func validate() throws(ProtocolError) {
        guard text != nil || attachment != nil || call != nil else { throw .missingField("text") }
        try call?.validate()
        try ProtocolLimits.checkInteger(counter, field: "counter")
        if let text, text.utf8.count > ProtocolLimits.maxTextBytes {
            throw .fieldTooLarge(field: "text", size: text.utf8.count, limit: ProtocolLimits.maxTextBytes)
        }
        try attachment?.validate()
    }

    /// The exact bytes that are encrypted and franked (sorted-key JSON).
    public func encoded() throws(ProtocolError) -> [UInt8] {
        try validate()
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        guard let data = try? encoder.encode(self) else { throw .invalidField("body", reason: "cannot be encoded") }
        guard data.count <= ProtocolLimits.maxBodyBytes else {
            throw .fieldTooLarge(field: "body", size: data.count, limit: ProtocolLimits.maxBodyBytes)
        }
        return Array(data)
    }

    /// Decodes and validates body bytes taken out of a decrypted message.
    public static func decode(_ bytes: [UInt8]) throws(ProtocolError) -> MessageBody {
        let body = try FrameCodec.decodeJSON(MessageBody.self, from: bytes)
        try body.validate()
        return body
    }
}

/// How to fetch and decrypt a shared file: the server holds only the secretstream ciphertext
/// under `blob`; the key and header travel here, inside the encrypted message.
public struct AttachmentDescriptor: Codable, Sendable, Equatable {
    /// Media types a client may share and display.
    public static let allowedMediaTypes: Set<String> = ["image/png", "image/jpeg", "image/gif", "image/webp", "application/pdf"]

    /// The server's id for the encrypted blob.
    public var blob: String
    /// The secretstream key (32 bytes).
    public var key: WireBytes
    /// The secretstream header (24 bytes).
    public var header: WireBytes
    /// Plaintext size in bytes.
    public var size: Int
    /// Plaintext bytes per secretstream chunk.
    public var chunkSize: Int
    /// The file's media type, one of ``allowedMediaTypes``.
    public var mediaType: String
    /// The file name to show.
    public var name: String

    /// Creates a descriptor.
    public init(blob: String, key: WireBytes, header: WireBytes, size: Int, chunkSize: Int, mediaType: String, name: String) {
        self.blob = blob
        self.key = key
        self.header = header
        self.size = size
        self.chunkSize = chunkSize
        self.mediaType = mediaType
        self.name = name
    }

    /// Checks lengths, limits and the media-type allow-list. - Throws: ``ProtocolError``.
    public func validate() throws(ProtocolError) {
        guard (try? RoomID(blob.lowercased())) != nil, blob.utf8.count <= 64 else {
            throw .invalidField("attachment.blob", reason: "a blob id is 1-64 characters of A-Z a-z 0-9 _ -")
        }
        try key.require(length: SecretStream.keyLength, field: "attachment.key")
        try header.require(length: SecretStream.headerLength, field: "attachment.header")
        guard (0...ProtocolLimits.maxAttachmentBytes).contains(size) else {
            throw .fieldTooLarge(field: "attachment.size", size: size, limit: ProtocolLimits.maxAttachmentBytes)
        }
        guard (1...(1 << 20)).contains(chunkSize) else {
            throw .invalidField("attachment.chunkSize", reason: "must be 1 to 1048576")
        }
        guard Self.allowedMediaTypes.contains(mediaType) else {
            throw .invalidField("attachment.mediaType", reason: "not an allowed media type")
        }
        guard name.utf8.count <= ProtocolLimits.maxFileNameBytes else {
            throw .fieldTooLarge(field: "attachment.name", size: name.utf8.count, limit: ProtocolLimits.maxFileNameBytes)
        }
    }
}
