/// Every frame of the protocol: one JSON object per WebSocket text message, with the protocol
/// version `v`, a `type`, and the type's fields beside them (docs/protocol.md has an example of each).
public enum Frame: Sendable, Equatable {
    /// S→C: the login challenge, sent as soon as the socket opens.
    case challenge(AuthChallenge)
    /// C→S: the signed answer.
    case auth(AuthResponse)
    /// S→C: login succeeded.
    case welcome(Welcome)
    /// C→S: look up an invite.
    case getInvite(InviteRequest)
    /// S→C: an open invite.
    case invite(InviteFrame)
    /// C→S: redeem an invite with a staff certificate for the logged-in key.
    case redeemInvite(StaffFrame)
    /// S→C: the redemption succeeded; this member is now staff.
    case certified(StaffFrame)
    /// S→C: the organisation's newest signed staff roster (after welcome, and whenever it changes).
    case staffRoster(StaffRosterFrame)
    /// C→S: a moderator's action.
    case moderate(ModerationFrame)
    /// S→C: an action taken (a deletion tombstone, a suspension, a ban, a lift).
    case moderated(ModerationFrame)
    /// C→S: report a message.
    case report(ReportFrame)
    /// C→S (staff): list the open reports.
    case listReports(ReportPageRequest)
    /// S→C (staff): the open reports.
    case reports(ReportList)
    /// C→S (staff): create a room.
    case createRoom(CreateRoom)
    /// C→S (staff): a room's moderation log.
    case listAudit(AuditPageRequest)
    /// S→C (staff): the log.
    case audit(AuditTrail)
    /// C→S: ask for TURN relay credentials for a call.
    case requestTurn(TurnRequest)
    /// S→C: the credentials.
    case turn(TurnCredentials)
    /// C→S: ask for a token to upload or download attachments.
    case requestUploadToken(NoFields)
    /// S→C: the token.
    case uploadToken(UploadToken)
    /// C→S: list the rooms.
    case listRooms(NoFields)
    /// S→C: the rooms.
    case rooms(RoomList)
    /// C→S: join a room (and replay what was missed).
    case join(JoinRequest)
    /// S→C: joined; current epoch and members.
    case joined(Joined)
    /// C→S: leave a room.
    case leave(RoomRef)
    /// S→C: someone joined a room you are in.
    case memberJoined(MemberJoined)
    /// S→C: someone left a room you are in.
    case memberLeft(MemberLeft)
    /// S→C: a replay is complete; what follows is live.
    case synced(Synced)
    /// S→C: the room moved to a new epoch; create and share its key.
    case epochChanged(EpochChanged)
    /// C→S: append an entry to a room's log.
    case appendLog(LogEntryFrame)
    /// S→C: an entry appended to the log of a room you are in (its author gets it too).
    case logEntry(LogEntryFrame)
    /// S→C: stored log entries, for a member catching up on `join`.
    case logEntries(LogEntries)
    /// C→S: the next part of a room's log.
    case getLog(LogRequest)
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
    /// C→S: replay direct messages after a cursor, then receive live ones.
    case syncDirect(DirectSyncRequest)
    /// S→C: something was refused.
    case error(ErrorFrame)
    /// C→S and S→C: a call signalling step (``CallFrame``), routed live and never stored.
    case callSignal(CallFrame)
    /// C→S: this connection's call settings.
    case callPreferences(CallPreferences)
    /// C→S: from whom this member takes private messages.
    case directPreferences(DirectPreferences)
    /// S→C: a counsellor started or stopped offering calls.
    case callAvailability(CallAvailability)
    /// S→C: a call ended without a signal from the other party.
    case callEnded(CallEnded)
    /// C→S: a member asks to talk to a counsellor (joins the line).
    case askCounsellor(NoFields)
    /// C→S: a member stops waiting.
    case leaveQueue(NoFields)
    /// S→C: counsellors online and members waiting (and a waiting member's place).
    case availability(Availability)
    /// S→C (counsellors): the members waiting.
    case counsellorQueue(CounsellorQueue)
    /// C→S (counsellors): take a waiting member.
    case takeFromQueue(QueueTake)
    /// S→C: a counsellor took a waiting member (to both of them).
    case queueTaken(QueueTaken)
    /// S→C (counsellors): a member reported a message as worrying.
    case concern(Concern)

    /// The wire name of this frame's type.
    public var type: String {
        switch self {
        case .challenge: return "challenge"
        case .auth: return "auth"
        case .welcome: return "welcome"
        case .getInvite: return "getInvite"
        case .invite: return "invite"
        case .redeemInvite: return "redeemInvite"
        case .certified: return "certified"
        case .staffRoster: return "staffRoster"
        case .moderate: return "moderate"
        case .moderated: return "moderated"
        case .report: return "report"
        case .listReports: return "listReports"
        case .reports: return "reports"
        case .createRoom: return "createRoom"
        case .requestTurn: return "requestTurn"
        case .turn: return "turn"
        case .listAudit: return "listAudit"
        case .audit: return "audit"
        case .requestUploadToken: return "requestUploadToken"
        case .uploadToken: return "uploadToken"
        case .listRooms: return "listRooms"
        case .rooms: return "rooms"
        case .join: return "join"
        case .joined: return "joined"
        case .leave: return "leave"
        case .memberJoined: return "memberJoined"
        case .memberLeft: return "memberLeft"
        case .synced: return "synced"
        case .epochChanged: return "epochChanged"
        case .appendLog: return "appendLog"
        case .logEntry: return "logEntry"
        case .logEntries: return "logEntries"
        case .getLog: return "getLog"
        case .send: return "send"
        case .ack: return "ack"
        case .message: return "message"
        case .keyBundle: return "keyBundle"
        case .direct: return "direct"
        case .syncDirect: return "syncDirect"
        case .error: return "error"
        case .callSignal: return "callSignal"
        case .callPreferences: return "callPreferences"
        case .directPreferences: return "directPreferences"
        case .callAvailability: return "callAvailability"
        case .callEnded: return "callEnded"
        case .askCounsellor: return "askCounsellor"
        case .leaveQueue: return "leaveQueue"
        case .availability: return "availability"
        case .counsellorQueue: return "counsellorQueue"
        case .takeFromQueue: return "takeFromQueue"
        case .queueTaken: return "queueTaken"
        case .concern: return "concern"
        }
    }

    /// Checks the limits of every field the payload carries. - Throws: ``ProtocolError``.
    public func validate() throws(ProtocolError) {
        switch self {
        case .auth(let response): try response.validate()
        case .challenge(let challenge): try challenge.nonce.require(length: AuthChallenge.nonceLength, field: "nonce")
        case .send(let frame), .message(let frame): try frame.envelope.validate()
        case .keyBundle(let frame): try frame.bundle.validate()
        case .appendLog(let frame), .logEntry(let frame): try frame.entry.validate()
        case .logEntries(let frame): for entry in frame.entries { try entry.validate() }
        case .getLog(let request): try ProtocolLimits.checkInteger(request.logLength, field: "logLength")
        case .direct(let frame): try frame.message.validate()
        case .callSignal(let frame): try frame.validate()
        case .callEnded(let ended): try ended.call.require(length: CallSignal.callIDLength, field: "call")
        case .join(let request):
            try ProtocolLimits.checkInteger(request.after, field: "after")
            try ProtocolLimits.checkInteger(request.logLength, field: "logLength")
        case .syncDirect(let request):
            try ProtocolLimits.checkInteger(request.after, field: "after")
        case .joined(let joined):
            for member in joined.members { try DisplayName.validateMember(member.displayName, field: "members.displayName") }
        case .memberJoined(let event):
            try DisplayName.validateMember(event.member.displayName, field: "member.displayName")
        case .ack(let ack):
            try ProtocolLimits.checkInteger(ack.cursor, field: "cursor")
        case .getInvite(let request):
            try request.id.require(length: 16, field: "id")
        case .requestTurn(let request):
            try request.call.require(length: CallSignal.callIDLength, field: "call")
        case .welcome, .leave, .error, .listRooms, .rooms, .memberLeft, .synced, .invite, .redeemInvite, .certified, .staffRoster,
             .moderate, .moderated, .epochChanged, .report, .listReports, .reports, .requestUploadToken, .uploadToken,
             .listAudit, .audit, .turn, .callPreferences, .callAvailability, .askCounsellor, .leaveQueue,
             .availability, .takeFromQueue: break
        case .directPreferences(let preferences):
            try preferences.validate()
        case .counsellorQueue(let queue):
            for entry in queue.entries { try DisplayName.validateMember(entry.displayName, field: "entries.displayName") }
        case .queueTaken(let taken):
            try DisplayName.validateMember(taken.displayName, field: "displayName")
            try DisplayName.validateMember(taken.counsellor.displayName, field: "counsellor.displayName")
        case .concern(let concern):
            if let name = concern.displayName { try DisplayName.validateMember(name, field: "displayName") }
        case .createRoom(let request):
            try DisplayName.validate(request.name, field: "name")
            guard ["support", "private"].contains(request.kind) else { throw .invalidField("kind", reason: "must be support or private") }
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
        case "getInvite": self = .getInvite(try InviteRequest(from: decoder))
        case "invite": self = .invite(try InviteFrame(from: decoder))
        case "redeemInvite": self = .redeemInvite(try StaffFrame(from: decoder))
        case "certified": self = .certified(try StaffFrame(from: decoder))
        case "staffRoster": self = .staffRoster(try StaffRosterFrame(from: decoder))
        case "moderate": self = .moderate(try ModerationFrame(from: decoder))
        case "moderated": self = .moderated(try ModerationFrame(from: decoder))
        case "report": self = .report(try ReportFrame(from: decoder))
        case "listReports": self = .listReports(try ReportPageRequest(from: decoder))
        case "reports": self = .reports(try ReportList(from: decoder))
        case "createRoom": self = .createRoom(try CreateRoom(from: decoder))
        case "requestTurn": self = .requestTurn(try TurnRequest(from: decoder))
        case "turn": self = .turn(try TurnCredentials(from: decoder))
        case "listAudit": self = .listAudit(try AuditPageRequest(from: decoder))
        case "audit": self = .audit(try AuditTrail(from: decoder))
        case "requestUploadToken": self = .requestUploadToken(try NoFields(from: decoder))
        case "uploadToken": self = .uploadToken(try UploadToken(from: decoder))
        case "listRooms": self = .listRooms(try NoFields(from: decoder))
        case "rooms": self = .rooms(try RoomList(from: decoder))
        case "join": self = .join(try JoinRequest(from: decoder))
        case "joined": self = .joined(try Joined(from: decoder))
        case "leave": self = .leave(try RoomRef(from: decoder))
        case "memberJoined": self = .memberJoined(try MemberJoined(from: decoder))
        case "memberLeft": self = .memberLeft(try MemberLeft(from: decoder))
        case "synced": self = .synced(try Synced(from: decoder))
        case "epochChanged": self = .epochChanged(try EpochChanged(from: decoder))
        case "appendLog": self = .appendLog(try LogEntryFrame(from: decoder))
        case "logEntry": self = .logEntry(try LogEntryFrame(from: decoder))
        case "logEntries": self = .logEntries(try LogEntries(from: decoder))
        case "getLog": self = .getLog(try LogRequest(from: decoder))
        case "send": self = .send(try EnvelopeFrame(from: decoder))
        case "ack": self = .ack(try Ack(from: decoder))
        case "message": self = .message(try EnvelopeFrame(from: decoder))
        case "keyBundle": self = .keyBundle(try KeyBundleFrame(from: decoder))
        case "direct": self = .direct(try DirectFrame(from: decoder))
        case "syncDirect": self = .syncDirect(try DirectSyncRequest(from: decoder))
        case "error": self = .error(try ErrorFrame(from: decoder))
        case "callSignal": self = .callSignal(try CallFrame(from: decoder))
        case "callPreferences": self = .callPreferences(try CallPreferences(from: decoder))
        case "directPreferences": self = .directPreferences(try DirectPreferences(from: decoder))
        case "callAvailability": self = .callAvailability(try CallAvailability(from: decoder))
        case "callEnded": self = .callEnded(try CallEnded(from: decoder))
        case "askCounsellor": self = .askCounsellor(try NoFields(from: decoder))
        case "leaveQueue": self = .leaveQueue(try NoFields(from: decoder))
        case "availability": self = .availability(try Availability(from: decoder))
        case "counsellorQueue": self = .counsellorQueue(try CounsellorQueue(from: decoder))
        case "takeFromQueue": self = .takeFromQueue(try QueueTake(from: decoder))
        case "queueTaken": self = .queueTaken(try QueueTaken(from: decoder))
        case "concern": self = .concern(try Concern(from: decoder))
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
        case .getInvite(let payload): try payload.encode(to: encoder)
        case .invite(let payload): try payload.encode(to: encoder)
        case .redeemInvite(let payload), .certified(let payload): try payload.encode(to: encoder)
        case .staffRoster(let payload): try payload.encode(to: encoder)
        case .moderate(let payload), .moderated(let payload): try payload.encode(to: encoder)
        case .report(let payload): try payload.encode(to: encoder)
        case .listReports(let payload): try payload.encode(to: encoder)
        case .listRooms(let payload): try payload.encode(to: encoder)
        case .reports(let payload): try payload.encode(to: encoder)
        case .createRoom(let payload): try payload.encode(to: encoder)
        case .requestUploadToken(let payload): try payload.encode(to: encoder)
        case .requestTurn(let payload): try payload.encode(to: encoder)
        case .turn(let payload): try payload.encode(to: encoder)
        case .listAudit(let payload): try payload.encode(to: encoder)
        case .audit(let payload): try payload.encode(to: encoder)
        case .uploadToken(let payload): try payload.encode(to: encoder)
        case .rooms(let payload): try payload.encode(to: encoder)
        case .join(let payload): try payload.encode(to: encoder)
        case .leave(let payload): try payload.encode(to: encoder)
        case .memberJoined(let payload): try payload.encode(to: encoder)
        case .memberLeft(let payload): try payload.encode(to: encoder)
        case .synced(let payload): try payload.encode(to: encoder)
        case .epochChanged(let payload): try payload.encode(to: encoder)
        case .joined(let payload): try payload.encode(to: encoder)
        case .appendLog(let payload), .logEntry(let payload): try payload.encode(to: encoder)
        case .logEntries(let payload): try payload.encode(to: encoder)
        case .getLog(let payload): try payload.encode(to: encoder)
        case .send(let payload), .message(let payload): try payload.encode(to: encoder)
        case .ack(let payload): try payload.encode(to: encoder)
        case .keyBundle(let payload): try payload.encode(to: encoder)
        case .direct(let payload): try payload.encode(to: encoder)
        case .syncDirect(let payload): try payload.encode(to: encoder)
        case .error(let payload): try payload.encode(to: encoder)
        case .callSignal(let payload): try payload.encode(to: encoder)
        case .callPreferences(let payload): try payload.encode(to: encoder)
        case .directPreferences(let payload): try payload.encode(to: encoder)
        case .callAvailability(let payload): try payload.encode(to: encoder)
        case .callEnded(let payload): try payload.encode(to: encoder)
        case .askCounsellor(let payload), .leaveQueue(let payload): try payload.encode(to: encoder)
        case .availability(let payload): try payload.encode(to: encoder)
        case .counsellorQueue(let payload): try payload.encode(to: encoder)
        case .takeFromQueue(let payload): try payload.encode(to: encoder)
        case .queueTaken(let payload): try payload.encode(to: encoder)
        case .concern(let payload): try payload.encode(to: encoder)
        }
    }
}
