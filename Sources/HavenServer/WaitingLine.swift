import HavenProtocol

/// The members waiting to talk to a counsellor, oldest first. It lives in memory only: nothing
/// about who asked is stored, and a restart empties it (waiting widgets ask again).
struct WaitingLine {
    /// One waiting member.
    struct Waiting {
        let member: MemberID
        var displayName: String
        /// The keyed hash of the address it asked from (AddressLimiter), to limit places per address.
        let addressKey: [UInt8]
        /// When they asked (unix seconds).
        let since: UInt64
        /// Loop milliseconds when their last connection closed; nil while connected.
        var disconnectedAt: UInt64?
    }

    /// The longest the line may grow; beyond it members are told to try again shortly.
    static let capacity = 200

    private(set) var waiting: [Waiting] = []

    /// The member's place (1 is next), if they wait.
    func position(of member: MemberID) -> Int? {
        waiting.firstIndex { $0.member == member }.map { $0 + 1 }
    }

    /// Why a member cannot join the line.
    enum Refusal: Error {
        /// It holds ``capacity`` members.
        case full
        /// Their address holds as many places as it may.
        case fullForAddress
    }

    /// Puts `member` at the end of the line unless they are in it already (then they keep their
    /// place, connected again); one address holds at most `perAddress` places.
    mutating func add(_ member: MemberID, displayName: String, addressKey: [UInt8], perAddress: Int, now: UInt64) throws(Refusal) {
        if let index = waiting.firstIndex(where: { $0.member == member }) {
            waiting[index].disconnectedAt = nil
            return
        }
        guard waiting.count < Self.capacity else { throw .full }
        guard waiting.count(where: { $0.addressKey == addressKey }) < perAddress else { throw .fullForAddress }
        waiting.append(Waiting(member: member, displayName: displayName, addressKey: addressKey, since: now, disconnectedAt: nil))
    }

    /// Takes `member` out of the line; nil if they were not in it.
    mutating func remove(_ member: MemberID) -> Waiting? {
        guard let index = waiting.firstIndex(where: { $0.member == member }) else { return nil }
        return waiting.remove(at: index)
    }

    /// Marks a waiting member's connection as down (true) or back (false); whether they wait.
    mutating func setConnected(_ member: MemberID, _ connected: Bool, now: UInt64) -> Bool {
        guard let index = waiting.firstIndex(where: { $0.member == member }) else { return false }
        waiting[index].disconnectedAt = connected ? nil : now
        return true
    }

    /// Drops those whose connection has been down longer than `grace`; whether any was.
    mutating func dropAbandoned(now: UInt64, grace: UInt64) -> Bool {
        let before = waiting.count
        waiting.removeAll { $0.disconnectedAt.map { now &- $0 > grace } ?? false }
        return waiting.count != before
    }

    /// The line as counsellors see it.
    var entries: [QueueEntry] {
        waiting.map { QueueEntry(member: $0.member, displayName: $0.displayName, waitingSince: $0.since, connected: $0.disconnectedAt == nil) }
    }
}
