import HavenProtocol

/// A node's waiting line and its counsellors online, as it tells the others.
struct NodeLine: Codable, Sendable {
    let entries: [QueueEntry]
    let counsellors: [MemberID]
}

/// A counsellor on one node takes a member waiting through another.
struct RelayedTake: Codable, Sendable {
    let member: MemberID
    let counsellor: MemberInfo
}
