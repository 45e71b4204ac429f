import HavenProtocol

/// The waiting line, the counsellors online and the members per room on other nodes, as each
/// node last said. Pure state, no I/O. Each node is the authority for the members waiting through
/// it (it takes them from its line); the line everyone sees is all of them, oldest first.
struct LinesElsewhere {
    private var nodes: [[UInt8]: (entries: [QueueEntry], counsellors: Set<MemberID>, here: [String: Int], heardAt: UInt64)] = [:]

    /// What `node` says it has; whether the line and the counsellors online changed.
    mutating func set(_ summary: NodeSummary, on node: [UInt8], now: UInt64) -> (line: Bool, counsellors: Bool) {
        let before = (entries, counsellors)
        nodes[node] = (summary.entries, Set(summary.counsellors), summary.here, now)
        return (entries != before.0, counsellors != before.1)
    }

    /// Members in `room` on other nodes, as they last said (one on two nodes counts twice).
    func members(in room: RoomID) -> Int {
        // Each node's word is taken within reason: a count out of bounds is not added up.
        nodes.values.reduce(0) { $0 + min(max($1.here[room.value] ?? 0, 0), 1_000_000) }
    }

    /// Forgets nodes not heard from since `cutoff`; whether the line and the counsellors changed.
    mutating func forgetNodes(silentSince cutoff: UInt64) -> (line: Bool, counsellors: Bool) {
        let before = (entries, counsellors)
        nodes = nodes.filter { $0.value.heardAt >= cutoff }
        return (entries != before.0, counsellors != before.1)
    }

    /// Everyone waiting on other nodes.
    var entries: [QueueEntry] {
        nodes.keys.sorted { $0.lexicographicallyPrecedes($1) }.flatMap { nodes[$0]?.entries ?? [] }
    }

    /// The counsellors online on other nodes.
    var counsellors: Set<MemberID> {
        Set(nodes.values.flatMap(\.counsellors))
    }

    /// The node through which `member` waits, if one does.
    func node(holding member: MemberID) -> [UInt8]? {
        nodes.first { $0.value.entries.contains { $0.member == member } }?.key
    }

    /// This node's line and the others' as one, oldest first, each member once (connected
    /// entries before one whose connection is down, then the earliest).
    static func merged(_ here: [QueueEntry], _ elsewhere: [QueueEntry]) -> [QueueEntry] {
        var byMember: [MemberID: QueueEntry] = [:]
        for entry in here + elsewhere {
            guard let kept = byMember[entry.member] else {
                byMember[entry.member] = entry
                continue
            }
            if (entry.connected && !kept.connected) || (entry.connected == kept.connected && entry.waitingSince < kept.waitingSince) {
                byMember[entry.member] = entry
            }
        }
        return byMember.values.sorted {
            $0.waitingSince != $1.waitingSince ? $0.waitingSince < $1.waitingSince : $0.member.bytes.lexicographicallyPrecedes($1.member.bytes)
        }
    }
}
