import HavenProtocol
import HavenStore

/// Sanctions in force, kept on the loop for the checks on every login and message: the one
/// place that says what each kind of moderation action does to them. Pure state, no I/O: the
/// server carries out the ``Consequence``s it returns.
struct Sanctions {
    /// What a sanction asks of the live server besides being remembered.
    enum Consequence: Equatable {
        /// The member's calls end.
        case endCalls(MemberID)
        /// The member's connections close, once the action is announced.
        case disconnect(MemberID)
    }

    private(set) var banned: [MemberID: [UInt8]] = [:]
    private(set) var suspended: [MemberID: (until: Int64, action: [UInt8])] = [:]
    private(set) var removed: [RoomID: [MemberID: [UInt8]]] = [:]

    /// The sanctions the store holds.
    init(_ records: [SanctionRecord]) {
        for record in records {
            guard let member = try? MemberID(bytes: record.member), let kind = ModerationKind(rawValue: record.kind) else { continue }
            _ = add(kind, against: member, actionID: record.actionID, until: record.until, room: record.room.flatMap { try? RoomID($0) })
        }
    }

    /// Applies a moderator's action, already stored (`lifted`: the sanction a lift ended), and
    /// returns what else it asks for.
    mutating func apply(_ action: ModerationAction, lifted: SanctionRecord?) -> [Consequence] {
        switch action.kind {
        case .suspend, .ban, .remove:
            guard let target = action.target else { return [] }
            return add(action.kind, against: target, actionID: action.id.bytes, until: action.until.map { Int64($0) }, room: action.room)
        case .lift:
            if let lifted { remove(lifted) }
            return []
        case .deleteMessage, .admit, .appoint:
            return []
        }
    }

    private mutating func add(_ kind: ModerationKind, against member: MemberID, actionID: [UInt8], until: Int64?, room: RoomID?) -> [Consequence] {
        switch kind {
        case .ban:
            banned[member] = actionID
            return [.endCalls(member), .disconnect(member)]
        case .suspend:
            guard let until else { return [] }
            suspended[member] = (until, actionID)
            return [.endCalls(member)]
        case .remove:
            if let room { removed[room, default: [:]][member] = actionID }
            return []
        case .deleteMessage, .lift, .admit, .appoint:
            return []
        }
    }

    /// Whether `member` is banned.
    func isBanned(_ member: MemberID) -> Bool { banned[member] != nil }

    /// Whether `member` may not post until later than `now`.
    func isSuspended(_ member: MemberID, now: Int64) -> Bool {
        (suspended[member]?.until ?? 0) > now
    }

    /// Whether `member` was removed from `room`.
    func isRemoved(_ member: MemberID, from room: RoomID) -> Bool { removed[room]?[member] != nil }

    /// Whether the sanction recorded by `actionID` is against `member`.
    func isAgainst(_ member: MemberID, actionID: [UInt8]) -> Bool {
        banned[member] == actionID || suspended[member]?.action == actionID || removed.values.contains { $0[member] == actionID }
    }

    /// Ends the sanction `record` (lifted).
    private mutating func remove(_ record: SanctionRecord) {
        guard let member = try? MemberID(bytes: record.member) else { return }
        if banned[member] == record.actionID { banned[member] = nil }
        if suspended[member]?.action == record.actionID { suspended[member] = nil }
        if let room = record.room.flatMap({ try? RoomID($0) }), removed[room]?[member] == record.actionID { removed[room]?[member] = nil }
    }
}
