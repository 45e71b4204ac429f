import HavenProtocol
import Sodium
import Testing

/// The client's rules with keys: seal only to the log's members, accept only the key an epoch's
/// signed entry committed to, stop using an epoch when someone given it leaves, and notice
/// replays, withheld messages and forks.
@Suite struct RoomKeyringTests {
    let room = try! RoomID("night-owls")
    let alice = try! SigningKeyPair.generate()
    let bob = try! SigningKeyPair.generate()
    let mallory = try! SigningKeyPair.generate()

    func keyring(_ identity: SigningKeyPair) -> RoomKeyring {
        RoomKeyring(room: room, identity: identity, organisation: nil)
    }

    /// Alice starts the room and Bob joins; both keyrings see the same entries.
    func aliceAndBob() throws -> (RoomKeyring, RoomKeyring, [RoomLogEntry]) {
        var a = keyring(alice)
        var b = keyring(bob)
        let first = try a.proposeEpoch(0, reason: "first", mode: .open)
        _ = a.receive(first)
        _ = b.receive(first)
        let join = b.entry(.join)
        _ = a.receive(join)
        _ = b.receive(join)
        let bundle = try EpochKeyBundle.seal(#require(a.currentKey), to: MemberID(bob.publicKey), by: alice)
        a.sealed(to: MemberID(bob.publicKey), epoch: 0)
        guard case .stored = b.receive(bundle) else { Issue.record("Bob did not take the key"); return (a, b, []) }
        return (a, b, [first, join])
    }

    @Test func aKeyIsSealedOnlyToMembersOfTheVerifiedLog() throws {
        var (a, _, _) = try aliceAndBob()
        #expect(a.membersWithoutKey == [MemberID(alice.publicKey)], "only Alice's own bundle is still to store")
        // The server claims Mallory joined, but no entry of hers is in the log.
        #expect(!a.log.members.contains(MemberID(mallory.publicKey)))
        a.sealed(to: MemberID(alice.publicKey), epoch: 0)
        #expect(a.membersWithoutKey.isEmpty)
    }

    @Test func aBundleWhoseKeyDoesNotMatchTheCommitmentIsRefusedAndAnEstablishedKeyIsNeverReplaced() throws {
        var (_, b, entries) = try aliceAndBob()
        let established = try #require(b.currentKey)
        // Alice (a member who holds the key) races a key of her own to Bob...
        let fake = try EpochKey.generate(room: room, epoch: 0)
        guard case .noted = b.receive(try EpochKeyBundle.seal(fake, to: MemberID(bob.publicKey), by: alice)) else {
            Issue.record("an established key was replaced")
            return
        }
        #expect(b.currentKey?.key.constantTimeEquals(established.key) == true)
        // ...and to a newcomer, who has only the log to go by: the key does not open the commitment.
        let carolKeys = try SigningKeyPair.generate()
        var carol = RoomKeyring(room: room, identity: carolKeys, organisation: nil)
        for entry in entries { _ = carol.receive(entry) }
        guard case .refused(.keyMismatch(let sealer, 0)?) = carol.receive(try EpochKeyBundle.seal(fake, to: MemberID(carolKeys.publicKey), by: alice)) else {
            Issue.record("a key that does not match its commitment was taken")
            return
        }
        #expect(sealer == MemberID(alice.publicKey))
        #expect(carol.currentKey == nil)
        guard case .stored = carol.receive(try EpochKeyBundle.seal(established, to: MemberID(carolKeys.publicKey), by: bob)) else {
            Issue.record("the real key was refused")
            return
        }
    }

    @Test func aBundleFromAMemberOtherThanTheEpochsAuthorDoesNotStopOthersSealingTheRightKey() throws {
        var (a, b, entries) = try aliceAndBob()
        // Carol joins; Bob (a member, not the epoch's author) races a wrong key to her.
        var carol = keyring(try SigningKeyPair.generate())
        for entry in entries { _ = carol.receive(entry) }
        let join = carol.entry(.join)
        for ring in [0, 1, 2] { _ = [ring == 0 ? a.receive(join) : ring == 1 ? b.receive(join) : carol.receive(join)] }
        let squat = try EpochKeyBundle.seal(try EpochKey.generate(room: room, epoch: 0), to: carol.member, by: bob)
        _ = a.receive(squat)
        #expect(a.membersWithoutKey.contains(carol.member), "Alice still seals the right key to Carol")
        guard case .refused(.keyMismatch?) = carol.receive(squat) else { Issue.record("the wrong key was taken"); return }
        guard case .stored = carol.receive(try EpochKeyBundle.seal(#require(a.currentKey), to: carol.member, by: alice)) else {
            Issue.record("the right key was refused")
            return
        }
    }

    @Test func afterARemovalOrLeaveNothingIsSentUnderTheOldEpoch() throws {
        var (a, b, _) = try aliceAndBob()
        let leave = b.entry(.leave)
        _ = a.receive(leave)
        #expect(a.mustRotate)
        #expect(throws: ProtocolError.self) { _ = try a.seal(MessageBody(text: "after Bob left")) }
        let next = try a.proposeEpoch(1, reason: "leave", mode: .open)
        #expect(next.members == [MemberID(alice.publicKey)])
        _ = a.receive(next)
        #expect(!a.mustRotate)
        #expect(a.currentKey?.epoch == 1)
        _ = try a.seal(MessageBody(text: "just me now"))
    }

    @Test func replaysAreNotShownTwiceAndSkippedCountersAreReported() throws {
        var (a, b, _) = try aliceAndBob()
        let first = try a.seal(MessageBody(text: "one"))
        _ = try a.seal(MessageBody(text: "two (withheld by the server)"))
        let third = try a.seal(MessageBody(text: "three"))
        guard case .opened(_, let none) = b.open(first) else { Issue.record("not opened"); return }
        #expect(none.isEmpty)
        guard case .refused(.replayed?, nil) = b.open(first) else { Issue.record("a replay was shown again"); return }
        guard case .opened(_, let warnings) = b.open(third) else { Issue.record("not opened"); return }
        #expect(warnings == [.messagesWithheld(sender: MemberID(alice.publicKey), missing: 1)])
    }

    @Test func aResendKeepsItsCounterSoItIsNotAGap() throws {
        var (a, b, _) = try aliceAndBob()
        let id = MessageID.random()
        let first = try a.seal(MessageBody(text: "one"), id: id)
        let resent = try a.seal(MessageBody(text: "one"), id: id)
        let next = try a.seal(MessageBody(text: "two"))
        #expect(first.counter == 1 && resent.counter == 1 && next.counter == 2)
        _ = b.open(resent)
        guard case .opened(_, let warnings) = b.open(next) else { Issue.record("not opened"); return }
        #expect(warnings.isEmpty)
        var counters = DirectCounters()
        let bobID = MemberID(bob.publicKey)
        #expect(counters.counter(for: id, to: bobID) == 1 && counters.counter(for: id, to: bobID) == 1)
        #expect(counters.counter(for: .random(), to: bobID) == 2)
    }

    @Test func aDifferentLogHeadAtTheSameLengthIsAFork() throws {
        var (a, b, entries) = try aliceAndBob()
        // The server shows Bob another second entry than the one Alice saw: Mallory's join.
        var forkedBob = keyring(bob)
        _ = forkedBob.receive(entries[0])
        _ = forkedBob.receive(keyring(mallory).entryAfter(entries[0]))
        #expect(forkedBob.log.head != b.log.head)
        _ = forkedBob.receive(try EpochKeyBundle.seal(#require(a.currentKey), to: MemberID(bob.publicKey), by: alice))
        let fromAlice = try a.seal(MessageBody(text: "hello"))
        guard case .opened(_, let warnings) = forkedBob.open(fromAlice) else { Issue.record("not opened"); return }
        #expect(warnings == [.forked(sender: MemberID(alice.publicKey), length: 2)])
        guard case .opened(_, let none) = b.open(try a.seal(MessageBody(text: "again"))) else { Issue.record("not opened"); return }
        #expect(none.isEmpty, "Bob, shown the same log as Alice, sees no fork")
    }

    @Test func aViewFarAheadIsNotBelievedAndANewerMessageReplacesAnOlderClaim() throws {
        var (a, b, _) = try aliceAndBob()
        let key = try #require(a.currentKey)
        let far = try RoomEnvelope.seal(
            MessageBody(text: "far"), key: key, sender: alice, view: .init(length: 1_000_000, head: a.log.head, counter: 1))
        _ = b.open(far)
        #expect(!b.isBehind, "a claim no honest member could make does not stop Bob sending")
        let ahead = try RoomEnvelope.seal(
            MessageBody(text: "ahead"), key: key, sender: alice, view: .init(length: b.log.length + 1, head: a.log.head, counter: 2))
        guard case .opened(_, let warnings) = b.open(ahead) else { Issue.record("not opened"); return }
        #expect(b.isBehind && warnings.contains { if case .behind = $0 { true } else { false } })
        _ = b.open(try a.seal(MessageBody(text: "caught up")))
        #expect(!b.isBehind, "Alice's newer message replaces what the older one claimed")
    }

    @Test func aMessageFromSomeoneNeverGivenTheEpochIsNotShown() throws {
        var (a, b, _) = try aliceAndBob()
        // Mallory got hold of the key (say, from the server's ghost) but is not in the log.
        let stolen = try #require(a.currentKey)
        let envelope = try RoomEnvelope.seal(
            MessageBody(text: "trust me"), key: stolen, sender: mallory, view: .init(length: b.log.length, head: b.log.head, counter: 1))
        guard case .refused(.notEntitled(let sender, 0)?, nil) = b.open(envelope) else { Issue.record("shown"); return }
        #expect(sender == MemberID(mallory.publicKey))
    }

    @Test func entriesArrivingAheadAreHeldAndCopiesIgnored() throws {
        let (a, _, entries) = try aliceAndBob()
        var carol = keyring(try SigningKeyPair.generate())
        #expect(carol.receive(entries[1]).changes.isEmpty, "held: the entry before it has not arrived")
        let receipt = carol.receive(entries[0])
        #expect(receipt.changes.count == 2)
        #expect(carol.receive(entries[1]).changes.isEmpty && carol.receive(entries[1]).warnings.isEmpty)
        #expect(carol.log.head == a.log.head)
    }
}

extension RoomKeyring {
    /// This member's `join`, written after `entry` (for building a second history).
    func entryAfter(_ entry: RoomLogEntry) -> RoomLogEntry {
        var copy = self
        _ = copy.receive(entry)
        return copy.entry(.join)
    }
}
