/// Every way a frame or an envelope can be rejected, each with a stable wire code
/// (``code``) and a description for people. Descriptions name fields, never their values.
public enum ProtocolError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The frame text is larger than the protocol allows.
    case frameTooLarge(size: Int, limit: Int)
    /// The text is not a JSON object.
    case malformedJSON
    /// The frame's `v` is not a version this implementation speaks.
    case unsupportedVersion(Int)
    /// The frame's `type` is unknown.
    case unknownFrameType(String)
    /// A required field is absent.
    case missingField(String)
    /// A field has the wrong JSON type or an invalid value.
    case invalidField(String, reason: String)
    /// A binary field is not canonical unpadded base64url.
    case invalidBase64(field: String)
    /// A fixed-size binary field has the wrong length.
    case wrongLength(field: String, length: Int, expected: Int)
    /// A field exceeds its size limit.
    case fieldTooLarge(field: String, size: Int, limit: Int)
    /// A signature does not verify against the claimed signer.
    case signatureInvalid(what: String)
    /// Ciphertext could not be decrypted: wrong key, altered bytes or altered associated data.
    case decryptionFailed(what: String)
    /// An envelope was encrypted under a different epoch than the key offered for it.
    case wrongEpoch(expected: UInt64, actual: UInt64)
    /// A bundle or message is addressed to someone else.
    case wrongRecipient(what: String)
    /// The revealed franking key and content do not match the signed commitment.
    case frankingMismatch
    /// Plaintext inside the encryption, or a ciphertext's length, is not padded to one of the
    /// sizes docs/crypto.md ("Padding") lists.
    case paddingInvalid(what: String)

    /// The stable machine-readable code sent in `error` frames (see docs/protocol.md).
    public var code: String {
        switch self {
        case .frameTooLarge: return "frame_too_large"
        case .malformedJSON: return "malformed_json"
        case .unsupportedVersion: return "unsupported_version"
        case .unknownFrameType: return "unknown_frame_type"
        case .missingField: return "missing_field"
        case .invalidField: return "invalid_field"
        case .invalidBase64: return "invalid_base64"
        case .wrongLength: return "wrong_length"
        case .fieldTooLarge: return "field_too_large"
        case .signatureInvalid: return "signature_invalid"
        case .decryptionFailed: return "decryption_failed"
        case .wrongEpoch: return "wrong_epoch"
        case .wrongRecipient: return "wrong_recipient"
        case .frankingMismatch: return "franking_mismatch"
        case .paddingInvalid: return "padding_invalid"
        }
    }

    public var description: String {
        switch self {
        case .frameTooLarge(let size, let limit):
            return "frame is too large: \(size) bytes, limit \(limit)"
        case .malformedJSON:
            return "frame is not a JSON object"
        case .unsupportedVersion(let version):
            return "protocol version \(version) is not supported (this server speaks \(ProtocolLimits.version))"
        case .unknownFrameType(let type):
            return "unknown frame type \"\(type.prefix(32))\""
        case .missingField(let field):
            return "missing field \"\(field)\""
        case .invalidField(let field, let reason):
            return "field \"\(field)\" is invalid: \(reason)"
        case .invalidBase64(let field):
            return "field \"\(field)\" is not unpadded base64url"
        case .wrongLength(let field, let length, let expected):
            return "field \"\(field)\" has \(length) bytes, need \(expected)"
        case .fieldTooLarge(let field, let size, let limit):
            return "field \"\(field)\" is too large: \(size) bytes, limit \(limit)"
        case .signatureInvalid(let what):
            return "\(what) signature does not verify"
        case .decryptionFailed(let what):
            return "\(what) failed authentication: wrong key or altered"
        case .wrongEpoch(let expected, let actual):
            return "message is for epoch \(actual), key is for epoch \(expected)"
        case .wrongRecipient(let what):
            return "\(what) is addressed to another member"
        case .frankingMismatch:
            return "reported content does not match the sender's signed commitment"
        case .paddingInvalid(let what):
            return "\(what) is not padded to one of the padded sizes"
        }
    }
}
