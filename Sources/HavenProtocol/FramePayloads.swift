/// Server to client, first frame after login: who the server authenticated.
public struct Welcome: Codable, Sendable, Equatable {
    /// The authenticated identity.
    public var member: MemberID
    /// Creates the frame.
    public init(member: MemberID) { self.member = member }
}

/// A reference to a room (`join`, `leave`).
public struct RoomRef: Codable, Sendable, Equatable {
    /// The room.
    public var room: RoomID
    /// Creates the frame.
    public init(room: RoomID) { self.room = room }
}

/// A member as others see them.
public struct MemberInfo: Codable, Sendable, Equatable {
    /// The identity key.
    public var member: MemberID
    /// The pseudonym.
    public var displayName: String
    /// Creates the value.
    public init(member: MemberID, displayName: String) {
        self.member = member
        self.displayName = displayName
    }
}

/// Server to client: the join succeeded; the room's current epoch and members.
public struct Joined: Codable, Sendable, Equatable {
    /// The room.
    public var room: RoomID
    /// The room's current epoch.
    public var epoch: UInt64
    /// Who is in the room now.
    public var members: [MemberInfo]
    /// Creates the frame.
    public init(room: RoomID, epoch: UInt64, members: [MemberInfo]) {
        self.room = room
        self.epoch = epoch
        self.members = members
    }
}

/// A room envelope, sent by a member (`send`, no cursor) or delivered by the server (`message`, with
/// the room's cursor at which it was stored).
public struct EnvelopeFrame: Codable, Sendable, Equatable {
    /// The signed, encrypted message.
    public var envelope: RoomEnvelope
    /// Server-assigned position in the room's history; absent when a client sends.
    public var cursor: UInt64?
    /// Creates the frame.
    public init(envelope: RoomEnvelope, cursor: UInt64? = nil) {
        self.envelope = envelope
        self.cursor = cursor
    }
}

/// Server to client: a message is durably stored (sent only after the commit).
public struct Ack: Codable, Sendable, Equatable {
    /// The acknowledged message id.
    public var id: MessageID
    /// Where it was stored (room cursor or direct-message cursor).
    public var cursor: UInt64
    /// Creates the frame.
    public init(id: MessageID, cursor: UInt64) {
        self.id = id
        self.cursor = cursor
    }
}

/// An epoch key bundle, in either direction.
public struct KeyBundleFrame: Codable, Sendable, Equatable {
    /// The bundle.
    public var bundle: EpochKeyBundle
    /// Creates the frame.
    public init(bundle: EpochKeyBundle) { self.bundle = bundle }
}

/// A direct message, sent (no cursor) or delivered (with the recipient's cursor).
public struct DirectFrame: Codable, Sendable, Equatable {
    /// The sealed message.
    public var message: DirectMessage
    /// Server-assigned position in the recipient's direct-message history.
    public var cursor: UInt64?
    /// Creates the frame.
    public init(message: DirectMessage, cursor: UInt64? = nil) {
        self.message = message
        self.cursor = cursor
    }
}

/// Client to server: send me what was stored in `room` after `after`, oldest first.
public struct HistoryRequest: Codable, Sendable, Equatable {
    /// The room.
    public var room: RoomID
    /// The last cursor the client has (0 for none).
    public var after: UInt64
    /// Page size, 1...``ProtocolLimits/maxHistoryPage``.
    public var limit: Int
    /// Creates the frame.
    public init(room: RoomID, after: UInt64, limit: Int) {
        self.room = room
        self.after = after
        self.limit = limit
    }
}

/// Server to client: a request or frame was refused.
public struct ErrorFrame: Codable, Sendable, Equatable {
    /// The stable code (``ProtocolError/code`` or a server code listed in docs/protocol.md).
    public var code: String
    /// A description for people.
    public var message: String
    /// The message id the error refers to, when there is one.
    public var id: MessageID?
    /// Creates the frame.
    public init(code: String, message: String, id: MessageID? = nil) {
        self.code = code
        self.message = message
        self.id = id
    }

    /// The frame for a protocol error.
    public init(_ error: ProtocolError, id: MessageID? = nil) {
        self.init(code: error.code, message: error.description, id: id)
    }
}
