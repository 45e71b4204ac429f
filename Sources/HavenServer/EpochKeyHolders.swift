import HavenProtocol

/// Who holds a room's current epoch key, and who may seal it to whom. Pure state, no I/O: the
/// server stores and delivers the bundles ``sealing(by:to:logMembers:)`` allows.
struct EpochKeyHolders {
    /// What a bundle sealing the current key does, if it may go.
    enum Sealing: Equatable {
        /// Its sealer makes the key: nobody held it, and they seal it to themselves.
        case creates
        /// Its sealer shares the key.
        case shares
        /// It may not go, with the error to answer.
        case refused(code: String, message: String)
    }

    /// The holders, in the order they came to hold it.
    private(set) var members: [MemberID]

    init(_ members: [MemberID]) {
        self.members = members
    }

    /// True when nobody holds the key.
    var isEmpty: Bool { members.isEmpty }

    /// Whether `member` holds the key.
    func contains(_ member: MemberID) -> Bool { members.contains(member) }

    /// Whether `sealer` may seal the current key to `recipient`. In an epoch the room's log began
    /// (`logMembers`, the log's members), members of the log seal it to members of the log (the
    /// log fixes the key by its commitment, which clients check). In an epoch from before the
    /// room had a log (`logMembers` nil), a member may seal it to themselves only while nobody
    /// holds it, which creates it; otherwise only a holder may share it.
    func sealing(by sealer: MemberID, to recipient: MemberID, logMembers: Set<MemberID>?) -> Sealing {
        if let logMembers {
            guard logMembers.contains(sealer), logMembers.contains(recipient) else {
                return .refused(code: "not_a_member", message: "keys are shared only between members of the room's log")
            }
            return .shares
        }
        if recipient == sealer && isEmpty { return .creates }
        guard contains(sealer) else {
            return .refused(code: recipient == sealer ? "epoch_key_exists" : "not_a_key_holder",
                            message: "only a holder of the current key may share it")
        }
        return .shares
    }

    /// `member` holds the key now.
    mutating func add(_ member: MemberID) {
        if !contains(member) { members.append(member) }
    }

    /// The holders among `departed` (who left the room's log) hold it no more.
    mutating func remove(_ departed: Set<MemberID>) {
        members.removeAll { departed.contains($0) }
    }

    /// Nobody holds the key (a new epoch begins).
    mutating func clear() {
        members = []
    }
}
