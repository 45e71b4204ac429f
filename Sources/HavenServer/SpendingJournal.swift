/// What this node took from budgets since it last told the other nodes, by key (an identity or
/// an address's keyed hash) and budget. Pure state; kept only while on (a node alone tells
/// nobody).
struct SpendingJournal<Key: Hashable, Budget: Hashable> {
    /// Whether anything is kept.
    var isOn = false
    private var spent: [Key: [Budget: Double]] = [:]

    /// Adds `amount` (less, for what was given back) taken from `key`'s `budget`.
    mutating func record(_ amount: Double, of budget: Budget, by key: Key) {
        guard isOn, amount != 0 else { return }
        spent[key, default: [:]][budget, default: 0] += amount
    }

    /// What was taken since the last call.
    mutating func drain() -> [Key: [Budget: Double]] {
        defer { spent = [:] }
        return spent
    }
}
