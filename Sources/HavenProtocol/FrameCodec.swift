import Foundation

/// Turns frames into JSON text and back, with every rejection mapped to a ``ProtocolError``.
///
/// Foundation's `JSONEncoder`/`JSONDecoder` do the JSON; this type adds the size limit, the
/// version and type checks, and the field validation.
public enum FrameCodec {
    /// Encodes a frame as the UTF-8 JSON text of one WebSocket text message.
    public static func encode(_ frame: Frame) -> [UInt8] {
        encodeValue(frame)
    }

    /// Decodes and validates one frame.
    ///
    /// - Throws: ``ProtocolError``: `frameTooLarge` before parsing anything, then `malformedJSON`,
    ///   `unsupportedVersion`, `unknownFrameType`, `missingField`, `invalidField`, `invalidBase64`,
    ///   `wrongLength` or `fieldTooLarge`.
    public static func decode(_ bytes: [UInt8]) throws(ProtocolError) -> Frame {
        guard bytes.count <= ProtocolLimits.maxFrameBytes else {
            throw .frameTooLarge(size: bytes.count, limit: ProtocolLimits.maxFrameBytes)
        }
        let frame = try decodeJSON(Frame.self, from: bytes)
        try frame.validate()
        return frame
    }

    /// Encodes one protocol value (an envelope, a direct message) the way frames encode it, for
    /// storing the exact bytes a sender's object became.
    public static func encodeValue(_ value: some Encodable) -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        // Protocol values hold only strings, integers and base64 text, which always encode.
        return Array(try! encoder.encode(value))
    }

    /// What a stored value is delivered as.
    public enum Delivery: Sendable {
        /// A room envelope, delivered as a `message` frame.
        case roomMessage
        /// A direct message, delivered as a `direct` frame.
        case directMessage
    }

    /// The delivery frame for a value stored as ``encodeValue(_:)`` bytes, built around those
    /// bytes instead of decoding and re-encoding them: the same bytes ``encode(_:)`` produces
    /// for `.message(EnvelopeFrame(envelope:cursor:))` or `.direct(DirectFrame(message:cursor:))`
    /// (keys sorted, no whitespace). The server uses it for fan-out and replay.
    public static func deliveryFrame(_ kind: Delivery, stored: [UInt8], cursor: UInt64) -> [UInt8] {
        let (field, type) = kind == .roomMessage ? ("envelope", "message") : ("message", "direct")
        var frame = Array(#"{"cursor":\#(cursor),"\#(field)":"#.utf8)
        frame.reserveCapacity(stored.count + 64)
        frame += stored
        frame += Array(#","type":"\#(type)","v":\#(ProtocolLimits.version)}"#.utf8)
        return frame
    }

    /// A `logEntries` frame built around stored entries (``encodeValue(_:)`` bytes), the same
    /// bytes ``encode(_:)`` gives for `.logEntries(LogEntries(room:entries:more:))`.
    public static func logEntriesFrame(room: RoomID, stored: [[UInt8]], more: Bool = false) -> [UInt8] {
        var frame = Array(#"{"entries":["#.utf8)
        frame.reserveCapacity(stored.reduce(64) { $0 + $1.count + 1 })
        for (index, entry) in stored.enumerated() {
            if index > 0 { frame.append(UInt8(ascii: ",")) }
            frame += entry
        }
        // A room id is [a-z0-9_-] only: nothing to escape.
        frame += Array(#"]\#(more ? #","more":true"# : ""),"room":"\#(room.value)","type":"logEntries","v":\#(ProtocolLimits.version)}"#.utf8)
        return frame
    }

    /// Decodes one protocol value stored by ``encodeValue(_:)``.
    public static func decodeValue<Value: Decodable>(_ type: Value.Type, from bytes: [UInt8]) throws(ProtocolError) -> Value {
        try decodeJSON(type, from: bytes)
    }

    /// Decodes any protocol JSON value, mapping decoding failures to ``ProtocolError``.
    static func decodeJSON<Value: Decodable>(_ type: Value.Type, from bytes: [UInt8]) throws(ProtocolError) -> Value {
        do {
            return try JSONDecoder().decode(type, from: Data(bytes))
        } catch let error as ProtocolError {
            throw error
        } catch let DecodingError.keyNotFound(key, context) {
            throw .missingField((context.codingPath + [key]).fieldName)
        } catch let DecodingError.valueNotFound(_, context) {
            throw .missingField(context.codingPath.fieldName)
        } catch let DecodingError.typeMismatch(_, context) {
            throw context.codingPath.isEmpty ? .malformedJSON : .invalidField(context.codingPath.fieldName, reason: "wrong JSON type")
        } catch let DecodingError.dataCorrupted(context) {
            throw context.codingPath.isEmpty ? .malformedJSON : .invalidField(context.codingPath.fieldName, reason: "invalid value")
        } catch {
            throw .malformedJSON
        }
    }
}
