import HavenProtocol
import HavenStore

/// A moderation action one node committed, with what its commit did, for the other nodes to
/// carry out for their members: the action as stored, the moderator's proof, the sanction it
/// lifted, and the rooms it moved to a new epoch.
struct RelayedModeration: Codable, Sendable {
    /// A lifted sanction (the store's record, as it travels).
    struct Lifted: Codable, Sendable {
        let actionID: [UInt8]
        let kind: String
        let member: [UInt8]
        let until: Int64?
        let room: String?

        var record: SanctionRecord { SanctionRecord(actionID: actionID, kind: kind, member: member, until: until, room: room) }
    }

    /// A room moved to a new epoch.
    struct Rotated: Codable, Sendable {
        let room: String
        let epoch: Int64
    }

    let action: [UInt8]
    let moderator: MemberInfo
    let lifted: Lifted?
    let rotated: [Rotated]

    init(action: [UInt8], moderator: MemberInfo, lifted: SanctionRecord?, rotated: [(String, Int64)]) {
        self.action = action
        self.moderator = moderator
        self.lifted = lifted.map { Lifted(actionID: $0.actionID, kind: $0.kind, member: $0.member, until: $0.until, room: $0.room) }
        self.rotated = rotated.map { Rotated(room: $0.0, epoch: $0.1) }
    }
}
