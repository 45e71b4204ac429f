import HavenProtocol

/// Who is in a room now: each connection in it and whose it is. Pure state, no I/O: ``arrive``
/// and ``leave`` say when the room must be told that a member came (their first connection in)
/// or went (their last connection out), so a member on a phone and a laptop comes and goes once.
struct RoomPresence {
    private var members: [Int: MemberID] = [:]

    /// Puts `connection` of `member` in the room; true when it is the member's first connection
    /// here (the others are told the member came).
    mutating func arrive(connection: Int, member: MemberID) -> Bool {
        let first = !isOnline(member)
        members[connection] = member
        return first
    }

    /// Takes `connection` out of the room; the member who went with it (it was their last
    /// connection here), or nil when they are still here or the connection was not.
    mutating func leave(connection: Int) -> MemberID? {
        guard let member = members.removeValue(forKey: connection), !isOnline(member) else { return nil }
        return member
    }

    /// Whether `member` has a connection in the room.
    func isOnline(_ member: MemberID) -> Bool {
        members.values.contains(member)
    }

    /// Whether `connection` is in the room.
    func contains(connection: Int) -> Bool {
        members[connection] != nil
    }

    /// Each member in the room once, with the connection they arrived with first, in the
    /// order of those connections (a stable order for everyone's member list).
    var online: [(member: MemberID, connection: Int)] {
        var seen = Set<MemberID>()
        return members.keys.sorted().compactMap { connection in
            guard let member = members[connection], seen.insert(member).inserted else { return nil }
            return (member, connection)
        }
    }
}
