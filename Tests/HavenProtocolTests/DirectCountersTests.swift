import HavenProtocol
import Sodium
import Testing

/// What a member's client makes of the counters in private messages from one sender.
@Suite struct DirectCountersTests {
    let alice = try! SigningKeyPair.generate()
    let bob = try! SigningKeyPair.generate()

    func opened(_ counter: UInt64, id: MessageID = .random()) throws -> OpenedMessage {
        try DirectMessage.seal(MessageBody(text: "message \(counter)", counter: counter), from: alice, to: MemberID(bob.publicKey), id: id)
            .open(with: bob)
    }

    @Test func aSkipIsWithheldAndTheSkippedMessageArrivingLaterIsNotAReplay() throws {
        var counters = DirectCounters()
        let sender = MemberID(alice.publicKey)
        #expect(counters.receive(try opened(1)) == [])
        // Message 2 was lost on the way (a dropped connection) and 3 came first: 2 is missing.
        #expect(counters.receive(try opened(3)) == [.messagesWithheld(sender: sender, missing: 1)])
        // 2 is sent again and arrives late: it fills the gap, it was not replayed.
        #expect(counters.receive(try opened(2)) == [])
        // A message carrying a counter already seen, under a new id, is a replay.
        #expect(counters.receive(try opened(2)) == [.counterRepeated(sender: sender, counter: 2)])
        #expect(counters.receive(try opened(1)) == [.counterRepeated(sender: sender, counter: 1)])
        // A sender that jumps far ahead costs the receiver no more than its last hundred counters.
        #expect(counters.receive(try opened(1 << 50)) == [.messagesWithheld(sender: sender, missing: (1 << 50) - 4)])
        #expect(counters.receive(try opened((1 << 50) - 1)) == [])
        #expect(counters.receive(try opened(5)) == [.counterRepeated(sender: sender, counter: 5)])
    }

    @Test func theSameMessageDeliveredTwiceIsShownOnce() throws {
        var counters = DirectCounters()
        let message = try opened(1)
        #expect(counters.receive(message) == [])
        #expect(counters.receive(message) == nil)
    }
}
