/// Every frame of the protocol: one JSON object per WebSocket text message, with the protocol
/// version `v`, a `type`, and the type's fields beside them (docs/protocol.md has an example of each).
public enum Frame: Sendable, Equatable {
    /// S→C: the login challenge, sent as soon as the socket opens.
    case challenge(AuthChallenge)
    /// C→S: the signed answer.
    case auth(AuthResponse)
    /// S→C: login succeeded.
    case welcome(Welcome)
    /// C→S: join a room.
    case join(RoomRef)
    /// S→C: joined; current epoch and members.
    case joined(Joined)
    /// C→S: leave a room.
    case leave(RoomRef)
    /// C→S: post a room message.
    case send(EnvelopeFrame)
    /// S→C: a message is stored.
    case ack(Ack)
    /// S→C: a room message, live or from history.
    case message(EnvelopeFrame)
    /// Both ways: an epoch key bundle for one member.
    case keyBundle(KeyBundleFrame)
    /// Both ways: a direct message.
    case direct(DirectFrame)
    /// C→S: ask for stored room messages after a cursor.
    case history(HistoryRequest)
    /// S→C: something was refused.
    case error(ErrorFrame)

    /// The wire name of this frame's type.
    public var type: String {
        switch self {
        case .challenge: return "challenge"
        case .auth: return "auth"
        case .welcome: return "welcome"
        case .join: return "join"
        case .joined: return "joined"
        case .leave: return "leave"
        case .send: return "send"
        case .ack: return "ack"
        case .message: return "message"
        case .keyBundle: return "keyBundle"
        case .direct: return "direct"
        case .history: return "history"
        case .error: return "error"
        }
    }

    /// Checks the limits of every field the payload carries. - Throws: ``ProtocolError``.
    public func validate() throws(ProtocolError) {
        switch self {
        case .auth(let response): try response.validate()
        case .challenge(let challenge): try challenge.nonce.require(length: AuthChallenge.nonceLength, field: "nonce")
        case .send(let frame), .message(let frame): try frame.envelope.validate()
        case .keyBundle(let frame): try frame.bundle.validate()
        case .direct(let frame): try frame.message.validate()
        case .history(let request):
            guard (1...ProtocolLimits.maxHistoryPage).contains(request.limit) else {
                throw .invalidField("limit", reason: "must be 1 to \(ProtocolLimits.maxHistoryPage)")
            }
        case .joined(let joined):
            for member in joined.members { try DisplayName.validate(member.displayName, field: "members.displayName") }
        case .welcome, .join, .leave, .ack, .error: break
        }
    }
}

extension Frame: Codable {
    private enum HeaderKeys: String, CodingKey { case v, type }

    public init(from decoder: any Decoder) throws {
        let header = try decoder.container(keyedBy: HeaderKeys.self)
        let version = try header.decode(Int.self, forKey: .v)
        guard version == ProtocolLimits.version else { throw ProtocolError.unsupportedVersion(version) }
        let type = try header.decode(String.self, forKey: .type)
        switch type {
        case "challenge": self = .challenge(try AuthChallenge(from: decoder))
        case "auth": self = .auth(try AuthResponse(from: decoder))
        case "welcome": self = .welcome(try Welcome(from: decoder))
        case "join": self = .join(try RoomRef(from: decoder))
        case "joined": self = .joined(try Joined(from: decoder))
        case "leave": self = .leave(try RoomRef(from: decoder))
        case "send": self = .send(try EnvelopeFrame(from: decoder))
        case "ack": self = .ack(try Ack(from: decoder))
        case "message": self = .message(try EnvelopeFrame(from: decoder))
        case "keyBundle": self = .keyBundle(try KeyBundleFrame(from: decoder))
        case "direct": self = .direct(try DirectFrame(from: decoder))
        case "history": self = .history(try HistoryRequest(from: decoder))
        case "error": self = .error(try ErrorFrame(from: decoder))
        default: throw ProtocolError.unknownFrameType(type)
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var header = encoder.container(keyedBy: HeaderKeys.self)
        try header.encode(ProtocolLimits.version, forKey: .v)
        try header.encode(type, forKey: .type)
        switch self {
        case .challenge(let payload): try payload.encode(to: encoder)
        case .auth(let payload): try payload.encode(to: encoder)
        case .welcome(let payload): try payload.encode(to: encoder)
        case .join(let payload), .leave(let payload): try payload.encode(to: encoder)
        case .joined(let payload): try payload.encode(to: encoder)
        case .send(let payload), .message(let payload): try payload.encode(to: encoder)
        case .ack(let payload): try payload.encode(to: encoder)
        case .keyBundle(let payload): try payload.encode(to: encoder)
        case .direct(let payload): try payload.encode(to: encoder)
        case .history(let payload): try payload.encode(to: encoder)
        case .error(let payload): try payload.encode(to: encoder)
        }
    }
}
