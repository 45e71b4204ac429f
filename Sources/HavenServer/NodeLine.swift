import HavenProtocol

/// A node's waiting line and its counsellors online, as it tells the others.
struct NodeLine: Codable, Sendable {
    let entries: [QueueEntry]
    let counsellors: [MemberID]
}

/// What one node took from identities' budgets (reports, rings, message bytes) in a second.
struct BudgetsSpent: Codable, Sendable {
    struct Spending: Codable, Sendable {
        let member: MemberID
        let budget: IdentityLimiter.Budget
        let amount: Double
    }

    let spent: [Spending]
}

/// A counsellor on one node takes a member waiting through another.
struct RelayedTake: Codable, Sendable {
    let member: MemberID
    let counsellor: MemberInfo
}
