import HavenProtocol

/// What a node tells the others of itself: its waiting line, its counsellors online, and how
/// many members are in each room through it.
struct NodeSummary: Codable, Sendable {
    let entries: [QueueEntry]
    let counsellors: [MemberID]
    /// Members in each room here, by room id (rooms with none left out).
    let here: [String: Int]
}

/// What one node took from identities' and addresses' budgets in a second (addresses by their
/// keyed hash under the day's key every node shares, never the address).
struct BudgetsSpent: Codable, Sendable {
    struct Spending: Codable, Sendable {
        let member: MemberID
        let budget: IdentityLimiter.Budget
        let amount: Double
    }

    struct AddressSpending: Codable, Sendable {
        let address: [UInt8]
        let budget: AddressLimiter.Budget
        let amount: Double
    }

    let spent: [Spending]
    let addresses: [AddressSpending]
}

/// A counsellor on one node takes a member waiting through another.
struct RelayedTake: Codable, Sendable {
    let member: MemberID
    let counsellor: MemberInfo
}
