/// A member's per-pair counters for direct messages: the next number to put in each message to a
/// member, and the last number seen from each, so that a message delivered twice is shown once and
/// a replay or a message withheld is noticed. Pure state, no I/O; `direct-counters.js` in the
/// widget follows the same rules.
public struct DirectCounters: Sendable {
    private var sent: [MemberID: UInt64] = [:]
    private var assigned: [MessageID: UInt64] = [:]
    private var received: [MemberID: UInt64] = [:]
    /// Counters skipped by a message that came after them: one of them arriving later came late
    /// (a dropped connection, a message sent again), it was not replayed.
    private var missing: [MemberID: Set<UInt64>] = [:]
    private var seen: Set<Seen> = []

    /// Most missing counters remembered per sender.
    static let maxMissing: UInt64 = 100

    private struct Seen: Hashable {
        let sender: MemberID
        let id: MessageID
    }

    /// Empty counters.
    public init() {}

    /// The counter for message `id` to `recipient`: the next one (1, 2, 3, ...), or the one it
    /// already had when it is sent again.
    public mutating func counter(for id: MessageID, to recipient: MemberID) -> UInt64 {
        if let counter = assigned[id] { return counter }
        sent[recipient, default: 0] += 1
        assigned[id] = sent[recipient, default: 0]
        return sent[recipient, default: 0]
    }

    /// Checks an opened direct message: nil when it was already shown (a replay, not to be shown
    /// again), else the warnings its counter gives (a repeat or a skip) to show with it. A
    /// message whose counter an earlier one skipped arrived late, and gives none.
    public mutating func receive(_ message: OpenedMessage) -> [RoomWarning]? {
        guard seen.insert(Seen(sender: message.sender, id: message.id)).inserted else { return nil }
        guard let counter = message.body.counter else { return [] }
        var warnings: [RoomWarning] = []
        if let last = received[message.sender] {
            if counter <= last, missing[message.sender]?.remove(counter) == nil {
                warnings.append(.counterRepeated(sender: message.sender, counter: counter))
            }
            if counter > last + 1 {
                warnings.append(.messagesWithheld(sender: message.sender, missing: counter - last - 1))
                let oldestKept = counter > Self.maxMissing ? counter - Self.maxMissing : 0
                missing[message.sender, default: []].formUnion(max(last + 1, oldestKept)..<counter)
            }
        }
        received[message.sender] = max(received[message.sender] ?? 0, counter)
        return warnings
    }
}
