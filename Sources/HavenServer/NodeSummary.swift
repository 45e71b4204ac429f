import HavenProtocol

/// What a node tells the others of itself: its waiting line, its counsellors online, and how
/// many members are in each room through it.
struct NodeSummary: Codable, Sendable {
    let entries: [QueueEntry]
    let counsellors: [MemberID]
    /// Members in each room here, by room id (rooms with none left out).
    let here: [String: Int]
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
