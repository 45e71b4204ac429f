public import Sodium

/// What a moderator does.
public enum ModerationKind: String, Codable, Sendable, CaseIterable {
    /// Delete one room message: the server wipes it and tells the room to hide it.
    case deleteMessage
    /// Stop a member posting (they can still read) until `until`.
    case suspend
    /// Refuse an identity everywhere, at login too (every room it was in moves to a new epoch).
    case ban
    /// Take a member out of one room and keep them out; the room moves to a new epoch whose key
    /// only the remaining members receive.
    case remove
    /// Let a member into a private room (staff only).
    case admit
    /// Make a member a moderator (counsellors only).
    case appoint
    /// Undo an earlier suspension or ban (named by `lifts`).
    case lift
}

/// A moderator's signed action. The signature covers every field, so the moderation log is
/// evidence anyone can check, and the server cannot invent or alter an action.
public struct ModerationAction: Codable, Sendable, Hashable {
    /// 16 random bytes naming the action.
    public var id: MessageID
    /// What is done.
    public var kind: ModerationKind
    /// The room it concerns (for deletions), if any.
    public var room: RoomID?
    /// The member it concerns.
    public var target: MemberID?
    /// The message deleted (with `target` as its sender).
    public var message: MessageID?
    /// For suspensions: unix time (seconds) when it ends.
    public var until: UInt64?
    /// For lifts: the id of the action lifted.
    public var lifts: MessageID?
    /// Why, in the moderator's words, shown to the member concerned (removals, bans, suspensions,
    /// deletions). Seen by the server, like the rest of the action.
    public var reason: String?
    /// When the moderator issued it (unix seconds).
    public var issuedAt: UInt64
    /// The moderator's identity key.
    public var moderator: MemberID
    /// The moderator's signature over ``signedBytes``.
    public var signature: WireBytes

    /// label, id, kind, room, target, message, until, lifts, issuedAt, moderator (absent fields as
    /// empty), then the reason only when there is one (so actions without a reason sign exactly
    /// what they signed before reasons existed).
    public var signedBytes: [UInt8] {
        var bytes = CanonicalBytes(label: DomainLabel.moderation)
        bytes.append(id.bytes)
        bytes.append(kind.rawValue)
        bytes.append(room?.value ?? "")
        bytes.append(target?.bytes ?? [])
        bytes.append(message?.bytes ?? [])
        bytes.append(until ?? 0)
        bytes.append(lifts?.bytes ?? [])
        bytes.append(issuedAt)
        bytes.append(moderator.bytes)
        if let reason { bytes.append(reason) }
        return bytes.bytes
    }

    /// Creates and signs an action as `moderator`.
    public static func sign(
        _ kind: ModerationKind, room: RoomID? = nil, target: MemberID? = nil, message: MessageID? = nil,
        until: UInt64? = nil, lifts: MessageID? = nil, reason: String? = nil, issuedAt: UInt64, by moderator: SigningKeyPair
    ) -> ModerationAction {
        var action = ModerationAction(
            id: .random(), kind: kind, room: room, target: target, message: message, until: until, lifts: lifts,
            reason: reason, issuedAt: issuedAt, moderator: MemberID(moderator.publicKey), signature: WireBytes([]))
        action.signature = WireBytes(moderator.sign(action.signedBytes))
        return action
    }

    /// Checks the fields each kind needs and the moderator's signature.
    ///
    /// - Throws: ``ProtocolError/missingField(_:)``, ``ProtocolError/invalidField(_:reason:)`` for a
    ///   reason too long or with control characters, or ``ProtocolError/signatureInvalid(what:)``.
    public func verify() throws(ProtocolError) {
        if let reason {
            guard reason.utf8.count <= ProtocolLimits.maxReasonBytes else {
                throw .invalidField("action.reason", reason: "at most \(ProtocolLimits.maxReasonBytes) bytes")
            }
            // Control characters, and the invisible ones that reorder or hide text (U+202E...),
            // could make a reason read otherwise than what was signed.
            guard !reason.unicodeScalars.contains(where: { [.control, .format].contains($0.properties.generalCategory) }) else {
                throw .invalidField("action.reason", reason: "no control or invisible formatting characters")
            }
        }
        switch kind {
        case .deleteMessage:
            guard room != nil else { throw .missingField("action.room") }
            guard message != nil else { throw .missingField("action.message") }
            guard target != nil else { throw .missingField("action.target") }
        case .suspend:
            guard target != nil else { throw .missingField("action.target") }
            guard until != nil else { throw .missingField("action.until") }
        case .ban:
            guard target != nil else { throw .missingField("action.target") }
        case .remove, .admit:
            guard room != nil else { throw .missingField("action.room") }
            guard target != nil else { throw .missingField("action.target") }
        case .appoint:
            guard target != nil else { throw .missingField("action.target") }
        case .lift:
            guard lifts != nil else { throw .missingField("action.lifts") }
        }
        try moderator.publicKey.verify(signature.bytes, of: signedBytes, what: "moderation action")
    }
}

/// A moderation action sent (`moderate`) or announced (`moderated`).
public struct ModerationFrame: Codable, Sendable, Equatable {
    /// The signed action.
    public var action: ModerationAction
    /// In `moderated`: the moderator's staff proof, so a member can write the action into a
    /// room's log (clients verify it against the organisation key; the server's word is not needed).
    public var by: MemberInfo?
    /// Creates the frame.
    public init(action: ModerationAction, by: MemberInfo? = nil) {
        self.action = action
        self.by = by
    }
}
