import HavenProtocol

/// Who is in a room on other nodes, as each node last said. Pure state, no I/O: each change
/// says who came into the room or left it as far as this node can tell (a member on two nodes
/// comes once and goes once). A node that has not said anything for a while is taken to be gone.
struct PresenceElsewhere {
    private var nodes: [[UInt8]: (members: [MemberID: MemberInfo], heardAt: UInt64)] = [:]

    /// Each member online on some other node once, in a stable order (by id).
    var members: [MemberInfo] {
        var seen: [MemberID: MemberInfo] = [:]
        for node in nodes.values { seen.merge(node.members) { first, _ in first } }
        return seen.values.sorted { $0.member.bytes.lexicographicallyPrecedes($1.member.bytes) }
    }

    /// Whether `member` is online on some other node.
    func contains(_ member: MemberID) -> Bool {
        nodes.values.contains { $0.members[member] != nil }
    }

    /// `member` came into the room on `node`; true when no other node had them.
    mutating func arrive(_ member: MemberInfo, on node: [UInt8], now: UInt64) -> Bool {
        let new = !contains(member.member)
        nodes[node, default: ([:], now)].members[member.member] = member
        nodes[node]?.heardAt = now
        return new
    }

    /// `member` left the room on `node`; true when no other node has them.
    mutating func depart(_ member: MemberID, on node: [UInt8], now: UInt64) -> Bool {
        guard nodes[node]?.members.removeValue(forKey: member) != nil else { return false }
        nodes[node]?.heardAt = now
        return !contains(member)
    }

    /// `node` says who is in the room there: those it adds, and those it no longer has (and no
    /// other node has).
    mutating func present(_ members: [MemberInfo], on node: [UInt8], now: UInt64) -> (arrived: [MemberInfo], departed: [MemberID]) {
        let before = Set(nodes.values.flatMap(\.members.keys))
        nodes[node] = (Dictionary(members.map { ($0.member, $0) }) { first, _ in first }, now)
        let after = Set(nodes.values.flatMap(\.members.keys))
        return (members.filter { !before.contains($0.member) }, Array(before.subtracting(after)))
    }

    /// Forgets nodes not heard from since `cutoff`; the members nobody else has.
    mutating func forgetNodes(silentSince cutoff: UInt64) -> [MemberID] {
        let before = Set(nodes.values.flatMap(\.members.keys))
        nodes = nodes.filter { $0.value.heardAt >= cutoff }
        return Array(before.subtracting(nodes.values.flatMap(\.members.keys)))
    }

    /// Forgets every node (this node no longer follows the room).
    mutating func removeAll() {
        nodes = [:]
    }
}
