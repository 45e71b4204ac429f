public import Sodium

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
    /// For staff: the certificate chain clients verify against the organisation key before
    /// showing the member as verified staff.
    public var staff: StaffCertificate?
    /// For a member appointed moderator: the counsellor's signed appointment...
    public var appointment: ModerationAction?
    /// ...and that counsellor's certificate.
    public var appointedBy: StaffCertificate?
    /// For a counsellor: true while members may call them.
    public var offersCalls: Bool?
    /// Creates the value.
    public init(
        member: MemberID, displayName: String, staff: StaffCertificate? = nil,
        appointment: ModerationAction? = nil, appointedBy: StaffCertificate? = nil, offersCalls: Bool? = nil
    ) {
        self.member = member
        self.displayName = displayName
        self.staff = staff
        self.appointment = appointment
        self.appointedBy = appointedBy
        self.offersCalls = offersCalls
    }

    /// The member's role if it verifies against `organisation`: staff by their own certificate,
    /// or moderator by an appointment signed by a verified counsellor. nil for everyone else
    /// (including forged, borrowed or self-made certificates and appointments).
    public func verifiedRole(organisation: SigningPublicKey) -> StaffRole? {
        if let staff, staff.member == member, let role = try? staff.verify(organisation: organisation) { return role }
        guard let appointment, let appointedBy, appointment.kind == .appoint, appointment.target == member,
              appointment.moderator == appointedBy.member, (try? appointment.verify()) != nil,
              (try? appointedBy.verify(organisation: organisation)) == .counsellor
        else { return nil }
        return .moderator
    }
}

/// Client to server: look up an invite by the id in its link.
public struct InviteRequest: Codable, Sendable, Equatable {
    /// The 16-byte invite id.
    public var id: WireBytes
    /// Creates the frame.
    public init(id: WireBytes) { self.id = id }
}

/// Server to client: an open invite's certificate (to check against the organisation key).
public struct InviteFrame: Codable, Sendable, Equatable {
    /// The organisation-signed invite.
    public var certificate: InviteCertificate
    /// Creates the frame.
    public init(certificate: InviteCertificate) { self.certificate = certificate }
}

/// Client to server (`redeemInvite`) and server to client (`certified`): a staff certificate.
public struct StaffFrame: Codable, Sendable, Equatable {
    /// The certificate: invite plus the invite secret's signature over the member's key.
    public var certificate: StaffCertificate
    /// Creates the frame.
    public init(certificate: StaffCertificate) { self.certificate = certificate }
}

/// Server to client: the join succeeded; the room's current epoch, who is online, and who
/// holds the current epoch key (empty: nobody yet, so the joiner creates it).
public struct Joined: Codable, Sendable, Equatable {
    /// The room.
    public var room: RoomID
    /// The room's current epoch.
    public var epoch: UInt64
    /// Who is in the room now.
    public var members: [MemberInfo]
    /// Who has been given the current epoch key.
    public var keyHolders: [MemberID]
    /// How long the room's messages are kept, in seconds; absent: kept until deleted.
    public var retentionSeconds: UInt64?
    /// The mode the room's log starts with, when it has no entry yet (the server's word; once
    /// the log has an entry, the log's own mode counts).
    public var mode: RoomMode?
    /// Creates the frame.
    public init(
        room: RoomID, epoch: UInt64, members: [MemberInfo], keyHolders: [MemberID], retentionSeconds: UInt64? = nil,
        mode: RoomMode? = nil
    ) {
        self.room = room
        self.epoch = epoch
        self.members = members
        self.keyHolders = keyHolders
        self.retentionSeconds = retentionSeconds
        self.mode = mode
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
/// One room log entry: appended by a client (`appendLog`), or relayed by the server once stored
/// (`logEntry`).
public struct LogEntryFrame: Codable, Sendable, Equatable {
    /// The signed entry.
    public var entry: RoomLogEntry
    /// Creates the frame.
    public init(entry: RoomLogEntry) { self.entry = entry }
}

/// Server to client: stored room log entries, oldest first, for a member catching up.
public struct LogEntries: Codable, Sendable, Equatable {
    /// The room.
    public var room: RoomID
    /// The entries, in order.
    public var entries: [RoomLogEntry]
    /// True when the log goes on past these: ask for the rest with `getLog`.
    public var more: Bool?
    /// Creates the frame.
    public init(room: RoomID, entries: [RoomLogEntry], more: Bool? = nil) {
        self.room = room
        self.entries = entries
        self.more = more
    }
}

/// Client to server: the room's log entries from position `logLength` on (the next part of a
/// log too long to send at once).
public struct LogRequest: Codable, Sendable, Equatable {
    /// The room (joined on this connection).
    public var room: RoomID
    /// How many entries the client has.
    public var logLength: UInt64
    /// Creates the frame.
    public init(room: RoomID, logLength: UInt64) {
        self.room = room
        self.logLength = logLength
    }
}

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

/// Client to server: join a room and, when `after` is given, receive every message stored after
/// that cursor before live ones (exactly once, in order), then ``Synced``.
public struct JoinRequest: Codable, Sendable, Equatable {
    /// The room.
    public var room: RoomID
    /// The last cursor the client has for this room (0 for everything kept); absent: no replay.
    public var after: UInt64?
    /// How many room log entries the client has verified: the server sends the entries from
    /// there on. Absent: from the log's latest checkpoint (its last `epoch` entry).
    public var logLength: UInt64?
    /// Creates the frame.
    public init(room: RoomID, after: UInt64? = nil, logLength: UInt64? = nil) {
        self.room = room
        self.after = after
        self.logLength = logLength
    }
}

/// Client to server: send every direct message stored for me after `after`, then live ones.
public struct DirectSyncRequest: Codable, Sendable, Equatable {
    /// The last direct-message cursor the client has (0 for everything kept).
    public var after: UInt64
    /// Creates the frame.
    public init(after: UInt64) { self.after = after }
}

/// Server to client: the replay asked for is complete; what follows is live.
public struct Synced: Codable, Sendable, Equatable {
    /// The room, or absent for direct messages.
    public var room: RoomID?
    /// The last cursor replayed (or the `after` asked for, when nothing was missed).
    public var cursor: UInt64
    /// Creates the frame.
    public init(room: RoomID?, cursor: UInt64) {
        self.room = room
        self.cursor = cursor
    }
}

/// Server to client: someone joined a room you are in. A member holding the epoch key seals it
/// to a newcomer who is not among the key holders.
public struct MemberJoined: Codable, Sendable, Equatable {
    /// The room.
    public var room: RoomID
    /// Who joined.
    public var member: MemberInfo
    /// Whether the newcomer already holds the current epoch key.
    public var holdsKey: Bool
    /// Creates the frame.
    public init(room: RoomID, member: MemberInfo, holdsKey: Bool) {
        self.room = room
        self.member = member
        self.holdsKey = holdsKey
    }
}

/// Server to client: someone left a room you are in.
public struct MemberLeft: Codable, Sendable, Equatable {
    /// The room.
    public var room: RoomID
    /// Who left.
    public var member: MemberID
    /// Creates the frame.
    public init(room: RoomID, member: MemberID) {
        self.room = room
        self.member = member
    }
}

/// Server to client: a room moved to a new epoch (after a removal or a ban). Nobody holds its key
/// yet: the remaining members' clients create it, and the first one's wins.
public struct EpochChanged: Codable, Sendable, Equatable {
    /// The room.
    public var room: RoomID
    /// The new epoch.
    public var epoch: UInt64
    /// Creates the frame.
    public init(room: RoomID, epoch: UInt64) {
        self.room = room
        self.epoch = epoch
    }
}

/// Server to client: a short-lived token for uploading and downloading attachment blobs over
/// HTTP (`Authorization: Bearer <token>`), bound to the logged-in member.
public struct UploadToken: Codable, Sendable, Equatable {
    /// 32 random bytes.
    public var token: WireBytes
    /// Seconds it stays valid.
    public var expiresIn: Int
    /// Creates the frame.
    public init(token: WireBytes, expiresIn: Int) {
        self.token = token
        self.expiresIn = expiresIn
    }
}

/// Server to client: time-limited TURN relay credentials for calls (the TURN REST API scheme:
/// `username` is "expiry:member", `credential` its HMAC-SHA1 under the secret shared with the relay).
public struct TurnCredentials: Codable, Sendable, Equatable {
    /// The relay's URLs, e.g. "turn:turn.example.org:3478".
    public var urls: [String]
    /// "expiry:member".
    public var username: String
    /// base64(HMAC-SHA1(secret, username)).
    public var credential: String
    /// Seconds the credentials stay valid.
    public var ttl: Int
    /// Creates the frame.
    public init(urls: [String], username: String, credential: String, ttl: Int) {
        self.urls = urls
        self.username = username
        self.credential = credential
        self.ttl = ttl
    }
}

/// Client to server (staff): a page of a room's moderation log, the newest first, or the page
/// before a previous page's `next`.
public struct AuditPageRequest: Codable, Sendable, Equatable {
    /// The room.
    public var room: RoomID
    /// A previous page's `next`.
    public var before: Int64?
    /// Creates the frame.
    public init(room: RoomID, before: Int64? = nil) {
        self.room = room
        self.before = before
    }
}

/// Server to client (staff): a page of a room's moderation log (with the service-wide actions),
/// oldest first within the page; pages fit one frame.
public struct AuditTrail: Codable, Sendable, Equatable {
    /// The room.
    public var room: RoomID
    /// The signed actions.
    public var actions: [ModerationAction]
    /// When older actions remain: ask for them with `before` set to this.
    public var next: Int64?
    /// Creates the frame.
    public init(room: RoomID, actions: [ModerationAction], next: Int64? = nil) {
        self.room = room
        self.actions = actions
        self.next = next
    }
}

/// Client to server (staff): create a room.
public struct CreateRoom: Codable, Sendable, Equatable {
    /// The new room's id.
    public var room: RoomID
    /// Its display name (1-64 bytes).
    public var name: String
    /// "support" (open) or "private" (by admission).
    public var kind: String
    /// Creates the frame.
    public init(room: RoomID, name: String, kind: String) {
        self.room = room
        self.name = name
        self.kind = kind
    }
}

/// A room as listed to members.
public struct RoomInfo: Codable, Sendable, Equatable {
    /// The id.
    public var room: RoomID
    /// The display name.
    public var name: String
    /// "support" (open to every member) or "private".
    public var kind: String
    /// Members online in it now.
    public var online: Int
    /// How long its messages are kept, in seconds; absent: kept until deleted.
    public var retentionSeconds: UInt64?
    /// Creates the value.
    public init(room: RoomID, name: String, kind: String, online: Int, retentionSeconds: UInt64? = nil) {
        self.room = room
        self.name = name
        self.kind = kind
        self.online = online
        self.retentionSeconds = retentionSeconds
    }
}

/// Server to client: the rooms a member may join.
public struct RoomList: Codable, Sendable, Equatable {
    /// The rooms.
    public var rooms: [RoomInfo]
    /// Creates the frame.
    public init(rooms: [RoomInfo]) { self.rooms = rooms }
}

/// A frame with no fields of its own (`listRooms`).
public struct NoFields: Codable, Sendable, Equatable {
    /// Creates the value.
    public init() {}
}

/// Server to client: a request or frame was refused.
public struct ErrorFrame: Codable, Sendable, Equatable {
    /// The stable code (``ProtocolError/code`` or a server code listed in docs/protocol.md).
    public var code: String
    /// A description for people.
    public var message: String
    /// The message id the error refers to, when there is one.
    public var id: MessageID?
    /// The room a refused `join`, `leave` or `keyBundle` named, when there is one.
    public var room: RoomID?
    /// The call a refused `callSignal` named, when there is one.
    public var call: WireBytes?
    /// For `rate_limited`: how long to wait, in milliseconds, before sending again.
    public var retryAfterMs: Int?
    /// Creates the frame.
    public init(code: String, message: String, id: MessageID? = nil, room: RoomID? = nil, call: WireBytes? = nil, retryAfterMs: Int? = nil) {
        self.call = call
        self.retryAfterMs = retryAfterMs
        self.code = code
        self.message = message
        self.id = id
        self.room = room
    }

    /// The frame for a protocol error.
    public init(_ error: ProtocolError, id: MessageID? = nil) {
        self.init(code: error.code, message: error.description, id: id)
    }
}
