import Foundation
import HavenClient
import HavenNet
import HavenServer
import HavenProtocol
import HavenStore
import HavenTestSupport
import Sodium
import Testing

/// Members talk through a server that lies (``LyingServer`` in front of the real one): it invents
/// members, withholds removals, shows members different logs, swaps keys, replays and drops
/// messages. Each attack is refused or shown to the member.
@Suite struct LyingServerTests {
    let lobby = try! RoomID("lobby")
    let organisation = try! SigningKeyPair.generate()

    /// A real server, a liar in front of it, and a client loop.
    func stage() throws -> (TestServer, LyingServer, ClientLoop) {
        let key = organisation.publicKey
        let server = try TestServer {
            $0.organisationPublicKey = key
            $0.rateLimits = .unlimited
        }
        return (server, try LyingServer(upstreamPort: server.port), try ClientLoop())
    }

    func member(_ name: String, _ loop: ClientLoop) throws -> TestClient {
        try TestClient(name, loop: loop.loop, organisation: organisation.publicKey)
    }

    /// Every frame the liar saw a member send, for asserting what their client did.
    final class Sent: @unchecked Sendable {
        // @unchecked Sendable: `frames` is guarded by `lock`.
        private let lock = NSLock()
        private var frames: [(MemberID?, Frame)] = []
        func add(_ member: MemberID?, _ frame: Frame) { lock.withLock { frames.append((member, frame)) } }
        var all: [(MemberID?, Frame)] { lock.withLock { frames } }
        var bundles: [EpochKeyBundle] { all.compactMap { if case .keyBundle(let frame) = $0.1 { frame.bundle } else { nil } } }
    }

    func recording(_ liar: LyingServer) -> Sent {
        let sent = Sent()
        liar.toServer { member, frame in
            sent.add(member, frame)
            return [frame]
        }
        return sent
    }

    /// Makes the liar deliver the first message `moved` recognises twice (the copy under a later
    /// cursor), drop the second, and pass the rest under later cursors. `moved` gives the frame
    /// with its cursor moved on by a number, or nil for frames it does not concern.
    func replayFirstAndDropSecond(through liar: LyingServer, moved: @escaping @Sendable (Frame, UInt64) -> Frame?) {
        let seen = Locked(0)
        liar.toMembers { _, frame in
            guard let copy = moved(frame, 1000), let later = moved(frame, 2000) else { return [frame] }
            switch seen.withLock({ count -> Int in count += 1; return count }) {
            case 1: return [frame, copy]
            case 2: return []
            default: return [later]
            }
        }
    }

    /// A join entry at `log`'s head, signed by an identity of the liar's own.
    func ghostJoin(after log: RoomLog, ghost: SigningKeyPair) -> RoomLogEntry {
        RoomLogEntry(room: lobby, seq: log.length, previous: log.head, kind: .join, author: MemberID(ghost.publicKey)).signed(by: ghost)
    }

    @Test func aGhostTheServerInventsGetsNoKey() async throws {
        let (server, liar, loop) = try stage()
        let sent = recording(liar)
        let alice = try member("Quiet Otter", loop)
        try await alice.enter(through: liar, room: lobby)
        let ghost = try SigningKeyPair.generate()
        let ghostID = MemberID(ghost.publicKey)
        let log = try #require(await alice.client.log(of: lobby))

        // The server announces a ghost, then forges a join in the name of a real member (Bob)
        // whose key it does not hold.
        liar.inject(.memberJoined(MemberJoined(room: lobby, member: MemberInfo(member: ghostID, displayName: "Kind Owl"), holdsKey: false)), to: alice.member)
        let bob = try SigningKeyPair.generate()
        var forged = ghostJoin(after: log, ghost: ghost)
        forged.author = MemberID(bob.publicKey)
        liar.inject(.logEntry(LogEntryFrame(entry: forged)), to: alice.member)
        _ = try await alice.log.wait("the forged entry to be refused") { _ in
            alice.warnings(in: lobby).contains { if case .entryRefused(_, .invalid) = $0 { true } else { false } } ? true : nil
        }
        // A real member joining afterwards is sealed the key; neither the ghost nor the forged
        // "Bob" ever is.
        let carol = try member("Calm Heron", loop)
        try await carol.enter(server, room: lobby)
        #expect(sent.bundles.contains { $0.recipient == carol.member })
        #expect(!sent.bundles.contains { $0.recipient == ghostID || $0.recipient == MemberID(bob.publicKey) })
        #expect(await !alice.client.members(of: lobby).contains(ghostID))
    }

    @Test func aPrivateRoomSealsNoKeyToAGhostEvenWithAValidSignature() async throws {
        let (server, liar, loop) = try stage()
        let sent = recording(liar)
        let counsellor = try await server.staffClient(.counsellor, "Ana", organisation: organisation, loop: loop)
        let grief = try RoomID("grief")
        try await counsellor.client.createRoom(grief, name: "Grief group", kind: "private")
        await counsellor.client.disconnect()
        // The counsellor's client goes through the liar from here on.
        let ana = try TestClient("Ana", loop: loop.loop, identity: counsellor.client.identity, organisation: organisation.publicKey)
        try await ana.client.connect(host: "127.0.0.1", port: liar.port)
        _ = try await ana.client.join(grief)
        await ana.client.waitForKey(grief)
        let log = try #require(await ana.client.log(of: grief))
        let ghost = try SigningKeyPair.generate()
        // The liar's own identity signs a well-formed join: fine in an open room, refused here.
        let join = RoomLogEntry(room: grief, seq: log.length, previous: log.head, kind: .join, author: MemberID(ghost.publicKey)).signed(by: ghost)
        liar.inject(.memberJoined(MemberJoined(room: grief, member: MemberInfo(member: MemberID(ghost.publicKey), displayName: "Ghost"), holdsKey: false)), to: ana.member)
        liar.inject(.logEntry(LogEntryFrame(entry: join)), to: ana.member)
        _ = try await ana.log.wait("the ghost's join to be refused") { _ in
            ana.warnings(in: grief).contains(.entryRefused(seq: log.length, .needsStaff)) ? true : nil
        }
        #expect(!sent.bundles.contains { $0.recipient == MemberID(ghost.publicKey) })
        #expect(await ana.client.members(of: grief) == [ana.member])
    }

    /// The log takes a join on a staff proof that verifies for ever; the key goes only to those
    /// whose proof holds now. A revoked counsellor, and a second key certified with a used invite
    /// (bound to its first key by the roster), sent as history the client never asked for, get
    /// nothing; a counsellor in good standing sent the same way gets the key.
    @Test func aPrivateRoomSealsNoKeyToARevokedCounsellorOrASecondKeyFromAUsedInvite() async throws {
        let key = organisation.publicKey
        let server = try TestServer {
            $0.organisationPublicKey = key
            $0.rateLimits = .unlimited
            $0.roomReloadMilliseconds = 100
        }
        let liar = try LyingServer(upstreamPort: server.port)
        let loop = try ClientLoop()
        let sent = recording(liar)
        let counsellor = try await server.staffClient(.counsellor, "Ana", organisation: organisation, loop: loop)
        let grief = try RoomID("grief")
        try await counsellor.client.createRoom(grief, name: "Grief group", kind: "private")
        await counsellor.client.disconnect()
        let ana = try TestClient("Ana", loop: loop.loop, identity: counsellor.client.identity, organisation: key)
        try await ana.client.connect(host: "127.0.0.1", port: liar.port)
        _ = try await ana.client.join(grief)
        await ana.client.waitForKey(grief)

        let now = UInt64(Date().timeIntervalSince1970)
        func staff(_ keys: SigningKeyPair, invite: (InviteCertificate, SecretBytes)) throws -> MemberInfo {
            MemberInfo(member: MemberID(keys.publicKey), displayName: "Staff",
                       staff: try StaffCertificate.redeem(invite.0, seed: invite.1, member: MemberID(keys.publicKey)))
        }
        let rowanInvite = try InviteCertificate.issue(role: .counsellor, expiresAt: now + 60, staffUntil: now + 3600, organisation: organisation)
        let cleoInvite = try InviteCertificate.issue(role: .counsellor, expiresAt: now + 60, staffUntil: now + 3600, organisation: organisation)
        let (rowan, cleo, thief) = (try SigningKeyPair.generate(), try SigningKeyPair.generate(), try SigningKeyPair.generate())
        let rowanInfo = try staff(rowan, invite: rowanInvite)
        let cleoInfo = try staff(cleo, invite: cleoInvite)
        let thiefInfo = try staff(thief, invite: cleoInvite)
        let roster = StaffRoster.sign(
            sequence: 1, issuedAt: now, staff: [StaffGrant(invite: cleoInvite.0.id, member: cleoInfo.member, role: .counsellor, until: now + 3600)],
            revoked: [StaffRevocation(member: rowanInfo.member, since: now - 10)], organisation: organisation)
        let store = try HavenStore(path: server.databasePath)
        let bytes = FrameCodec.encodeValue(roster)
        try store.performAndWait { try $0.saveStaffRoster(sequence: 1, roster: bytes) }
        store.close()
        _ = try await waitFor("Ana's client to adopt the roster") { await ana.client.role(of: rowanInfo) == nil ? true : nil }

        var log = try #require(await ana.client.log(of: grief))
        var entries: [RoomLogEntry] = []
        for (keys, info) in [(rowan, rowanInfo), (thief, thiefInfo), (cleo, cleoInfo)] {
            let entry = RoomLogEntry(room: grief, seq: log.length, previous: log.head, kind: .join, author: info.member, proof: info).signed(by: keys)
            _ = try log.append(entry)
            entries.append(entry)
        }
        liar.inject(.logEntries(LogEntries(room: grief, entries: entries)), to: ana.member)
        _ = try await waitFor("Ana's client to seal the key to the counsellor in good standing") {
            sent.bundles.contains { $0.recipient == cleoInfo.member } ? true : nil
        }
        #expect(await ana.client.members(of: grief).isSuperset(of: [rowanInfo.member, thiefInfo.member, cleoInfo.member]), "the log took all three")
        #expect(!sent.bundles.contains { $0.recipient == rowanInfo.member }, "no key for a revoked counsellor")
        #expect(!sent.bundles.contains { $0.recipient == thiefInfo.member }, "no key for a second key from a used invite")
    }

    @Test func aRemovalTheServerWithholdsIsStillEnforcedByTheMembers() async throws {
        let (server, liar, loop) = try stage()
        let sent = recording(liar)
        // The server withholds every hint of the removal: no epochChanged, no moderated.
        liar.toMembers { _, frame in
            switch frame {
            case .epochChanged, .moderated: return []
            default: return [frame]
            }
        }
        let moderator = try await server.staffClient(.moderator, "Mo", organisation: organisation, loop: loop)
        _ = try await moderator.client.join(lobby)
        await moderator.client.waitForKey(lobby)
        let alice = try member("Quiet Otter", loop)
        let bob = try member("Calm Heron", loop)
        try await alice.enter(through: liar, room: lobby)
        try await bob.enter(through: liar, room: lobby)
        try await moderator.client.moderate(.remove, room: lobby, target: bob.member)

        // Alice's client learns of it from the log alone and never sends under an epoch Bob holds.
        _ = try await waitFor("Alice's log to show the removal") { await alice.client.members(of: lobby).contains(bob.member) ? nil : true }
        await alice.client.waitForKey(lobby)
        _ = try await alice.client.send("now that he is gone", to: lobby)
        let sentByAlice = sent.all.compactMap { entry -> RoomEnvelope? in
            guard entry.0 == alice.member, case .send(let frame) = entry.1 else { return nil }
            return frame.envelope
        }
        #expect(sentByAlice.allSatisfy { $0.epoch >= 1 }, "nothing under the epoch the removed member holds")
        #expect(!sent.bundles.contains { $0.recipient == bob.member && $0.epoch >= 1 })
        let store = try HavenStore(path: server.databasePath)
        defer { store.close() }
        let bundles = try store.performAndWait { try $0.keyBundles(room: "lobby", recipient: bob.member.bytes) }
        #expect(try bundles.allSatisfy { try FrameCodec.decodeValue(EpochKeyBundle.self, from: $0).epoch == 0 })
    }

    @Test func aForkedLogIsShownToTheMembersItSplits() async throws {
        let (server, liar, loop) = try stage()
        let alice = try member("Quiet Otter", loop)
        let carol = try member("Gentle Fox", loop)
        try await alice.enter(server, room: lobby)
        try await carol.enter(through: liar, room: lobby)
        // From now on the liar shows Carol another history: where the room got Dave's join, Carol
        // gets the join of an identity of the liar's own (valid on its own: an open room).
        let ghost = try SigningKeyPair.generate()
        liar.toMembers { member, frame in
            guard case .logEntry(let logFrame) = frame, logFrame.entry.kind == .join else { return [frame] }
            let original = logFrame.entry
            let swapped = RoomLogEntry(room: original.room, seq: original.seq, previous: original.previous.bytes, kind: .join,
                                       author: MemberID(ghost.publicKey)).signed(by: ghost)
            return [.logEntry(LogEntryFrame(entry: swapped))]
        }
        let dave = try member("Steady Wren", loop)
        try await dave.enter(server, room: lobby)
        _ = try await waitFor("Carol to take the ghost's join") { await carol.client.members(of: lobby).contains(MemberID(ghost.publicKey)) ? true : nil }
        _ = try await alice.client.send("can everyone see this?", to: lobby)
        _ = try await carol.log.wait("Carol to be warned of the fork") { _ in
            carol.warnings(in: lobby).contains { if case .forked(let sender, _) = $0 { sender == alice.member } else { false } } ? true : nil
        }
    }

    @Test func aSwappedKeyBundleIsRefusedAndTheRealOneTaken() async throws {
        let (server, liar, loop) = try stage()
        let alice = try member("Quiet Otter", loop)
        try await alice.enter(server, room: lobby)
        let bob = try member("Calm Heron", loop)
        let ghost = try SigningKeyPair.generate()
        // The liar swaps the key sealed to Bob for one of its own, signed by its own identity,
        // and holds the real bundle back until told.
        let held = Locked<[EpochKeyBundle]>([])
        liar.toMembers { _, frame in
            guard case .keyBundle(let bundleFrame) = frame, bundleFrame.bundle.sealer != bundleFrame.bundle.recipient,
                  let fake = try? EpochKey.generate(room: bundleFrame.bundle.room, epoch: bundleFrame.bundle.epoch),
                  let swapped = try? EpochKeyBundle.seal(fake, to: bundleFrame.bundle.recipient, by: ghost)
            else { return [frame] }
            held.withLock { $0.append(bundleFrame.bundle) }
            return [.keyBundle(KeyBundleFrame(bundle: swapped))]
        }
        try await bob.client.connect(host: "127.0.0.1", port: liar.port)
        _ = try await bob.client.join(lobby)
        _ = try await bob.log.wait("Bob to refuse the swapped key") { _ in
            bob.warnings(in: lobby).contains { if case .keyMismatch = $0 { true } else { false } } ? true : nil
        }
        #expect(await bob.client.keyHolders(in: lobby).contains(bob.member) == false)
        liar.toMembers { _, frame in [frame] }
        for bundle in held.withLock({ $0 }) { liar.inject(.keyBundle(KeyBundleFrame(bundle: bundle)), to: bob.member) }
        await bob.client.waitForKey(lobby)
        _ = try await alice.client.send("hello Bob", to: lobby)
        #expect(try await bob.waitForTexts(1, in: lobby) == ["hello Bob"])
    }

    @Test func replayedAndWithheldMessagesAreNoticed() async throws {
        let (server, liar, loop) = try stage()
        let alice = try member("Quiet Otter", loop)
        let bob = try member("Calm Heron", loop)
        try await alice.enter(server, room: lobby)
        try await bob.enter(through: liar, room: lobby)
        replayFirstAndDropSecond(through: liar) { frame, shift in
            guard case .message(let message) = frame, let cursor = message.cursor else { return nil }
            return .message(EnvelopeFrame(envelope: message.envelope, cursor: cursor + shift))
        }
        for text in ["one", "two", "three"] { _ = try await alice.client.send(text, to: lobby) }
        #expect(try await bob.waitForTexts(2, in: lobby) == ["one", "three"])
        _ = try await bob.log.wait("the replay and the gap to be reported") { _ in
            let warnings = bob.warnings(in: lobby)
            let replayed = warnings.contains { if case .replayed(let sender, _) = $0 { sender == alice.member } else { false } }
            return replayed && warnings.contains(.messagesWithheld(sender: alice.member, missing: 1)) ? true : nil
        }
        try await Task.sleep(for: .milliseconds(100))
        #expect(bob.texts(in: lobby) == ["one", "three"], "the replay is never shown twice")
    }

    @Test func aReplayedOrWithheldDirectMessageIsNoticed() async throws {
        let (server, liar, loop) = try stage()
        let alice = try member("Quiet Otter", loop)
        let bob = try member("Calm Heron", loop)
        try await alice.connect(server)
        try await bob.client.connect(host: "127.0.0.1", port: liar.port)
        replayFirstAndDropSecond(through: liar) { frame, shift in
            guard case .direct(let direct) = frame, let cursor = direct.cursor else { return nil }
            return .direct(DirectFrame(message: direct.message, cursor: cursor + shift))
        }
        for text in ["one", "two", "three"] { _ = try await alice.client.sendDirect(text, to: bob.member) }
        #expect(try await bob.waitForDirectTexts(2) == ["one", "three"])
        let warnings = try await bob.log.wait("the replay and the gap to be reported") { events -> [RoomWarning]? in
            let warnings = events.compactMap { if case .directWarning(let from, let warning) = $0, from == alice.member { warning } else { nil } }
            return warnings.count >= 2 ? warnings : nil
        }
        #expect(warnings.contains { if case .replayed = $0 { true } else { false } })
        #expect(warnings.contains(.messagesWithheld(sender: alice.member, missing: 1)))
        try await Task.sleep(for: .milliseconds(100))
        #expect(bob.directTexts() == ["one", "three"], "the replay is never shown twice")
    }

    @Test func aMemberFromWhomTheServerHoldsBackTheLogStopsSending() async throws {
        let (server, liar, loop) = try stage()
        let sent = recording(liar)
        let moderator = try await server.staffClient(.moderator, "Mo", organisation: organisation, loop: loop)
        _ = try await moderator.client.join(lobby)
        await moderator.client.waitForKey(lobby)
        let alice = try member("Quiet Otter", loop)
        let bob = try member("Calm Heron", loop)
        let carol = try member("Gentle Fox", loop)
        try await alice.enter(through: liar, room: lobby)
        try await bob.enter(server, room: lobby)
        try await carol.enter(server, room: lobby)
        // From the removal on, the liar gives Alice no more of the log, nor any hint.
        let holding = Locked(false)
        liar.toMembers { member, frame in
            switch frame {
            case .logEntry(let logFrame):
                if logFrame.entry.kind == .remove { holding.withLock { $0 = true } }
                return holding.withLock { $0 } ? [] : [frame]
            case .epochChanged, .moderated: return []
            default: return [frame]
            }
        }
        try await moderator.client.moderate(.remove, room: lobby, target: bob.member)
        await carol.client.waitForKey(lobby)
        _ = try await waitFor("Carol's new epoch") { (await carol.client.epoch(of: lobby) ?? 0) >= 1 ? true : nil }
        _ = try await carol.client.send("Bob is gone", to: lobby)
        _ = try await alice.log.wait("Alice to be told she is behind") { _ in
            alice.warnings(in: lobby).contains { if case .behind = $0 { true } else { false } } ? true : nil
        }
        await #expect(throws: ClientError.noEpochKey(lobby)) { _ = try await alice.client.send("is Bob still here?", to: lobby) }
        let afterRemoval = sent.all.compactMap { entry -> RoomEnvelope? in
            guard entry.0 == alice.member, case .send(let frame) = entry.1 else { return nil }
            return frame.envelope
        }
        #expect(afterRemoval.isEmpty, "nothing sent under the epoch the removed member holds")
    }

    /// Alice and an abusive member, Mallory, in the lobby of an honest server (no liar), with
    /// Mallory's log; the server and loop are returned to keep them alive. The log's budget
    /// (a burst of 10 entries) barely refills during a test, however slowly a busy machine runs it.
    func aliceAndMallory() async throws -> (TestClient, TestClient, RoomLog, (TestServer, ClientLoop)) {
        let server = try TestServer { $0.rateLimits.logEntriesPerSecond = 0.01 }
        let loop = try ClientLoop()
        let alice = try member("Quiet Otter", loop)
        let mallory = try member("Loud Crow", loop)
        try await alice.enter(server, room: lobby)
        try await mallory.enter(server, room: lobby)
        return (alice, mallory, try #require(await mallory.client.log(of: lobby)), (server, loop))
    }

    @Test func aMemberCannotKeepTheRoomChangingKeysOrFloodTheLog() async throws {
        let (alice, mallory, log, stage) = try await aliceAndMallory()
        defer { withExtendedLifetime(stage) {} }
        let key = try EpochKey.generate(room: lobby, epoch: (log.currentEpoch?.epoch ?? 0) + 1)
        let epoch = RoomLogEntry(
            room: lobby, seq: log.length, previous: log.head, kind: .epoch, author: mallory.member, epoch: key.epoch,
            commitment: key.commitment, reason: "schedule", mode: .open, members: Array(log.members), excluded: []
        ).signed(by: mallory.client.identity)
        await mallory.client.sendRaw(String(decoding: FrameCodec.encode(.appendLog(LogEntryFrame(entry: epoch))), as: UTF8.self))
        let refusal = try await mallory.log.wait("the epoch to be refused") { events -> ErrorFrame? in
            events.lazy.compactMap { if case .serverError(let error) = $0, error.code == "log_refused" { error } else { nil } }.first
        }
        #expect(refusal.message.contains("needs no new epoch"))
        #expect(await alice.client.epoch(of: lobby) == log.currentEpoch?.epoch)
        for _ in 0..<12 { await mallory.client.sendRaw(String(decoding: FrameCodec.encode(.appendLog(LogEntryFrame(entry: epoch))), as: UTF8.self)) }
        _ = try await mallory.log.wait("log entries to be rate-limited") { events in
            events.contains { if case .serverError(let error) = $0, error.code == "rate_limited" { true } else { false } } ? true : nil
        }
        _ = try await alice.client.send("still talking", to: lobby)
    }

    @Test func aMemberCannotClaimALongerLogToStopOthersSending() async throws {
        let (alice, mallory, log, stage) = try await aliceAndMallory()
        defer { withExtendedLifetime(stage) {} }
        let key = try #require(await mallory.client.currentKey(of: lobby))
        let envelope = try RoomEnvelope.seal(
            MessageBody(text: "you are all behind"), key: key, sender: mallory.client.identity,
            view: .init(length: ProtocolLimits.maxSafeInteger, head: log.head, counter: 1))
        await mallory.client.sendRaw(String(decoding: FrameCodec.encode(.send(EnvelopeFrame(envelope: envelope))), as: UTF8.self))
        _ = try await mallory.log.wait("the claim to be refused") { events in
            events.contains { if case .serverError(let error) = $0, error.code == "invalid_field", error.id == envelope.id { true } else { false } } ? true : nil
        }
        _ = try await alice.client.send("still talking", to: lobby)
    }

    @Test func aModerationActionTheServerForgesIsNotActedOn() async throws {
        let (server, liar, loop) = try stage()
        let alice = try member("Quiet Otter", loop)
        try await alice.enter(through: liar, room: lobby)
        let ghost = try SigningKeyPair.generate()
        let forged = ModerationAction.sign(.suspend, target: alice.member, until: 4_000_000_000, issuedAt: 1, by: ghost)
        liar.inject(.moderated(ModerationFrame(action: forged, by: MemberInfo(member: MemberID(ghost.publicKey), displayName: "Moderator"))), to: alice.member)
        // A real moderator's action, sent after the forgery, is the sign that the forgery was judged.
        let moderator = try await server.staffClient(.moderator, "Mo", organisation: organisation, loop: loop)
        let real = try await moderator.client.moderate(.suspend, target: alice.member, until: 4_000_000_000)
        let seen = try await alice.log.wait("the real suspension") { events -> [ModerationAction]? in
            let actions = events.compactMap { if case .moderated(let action) = $0 { action } else { nil } }
            return actions.contains(real) ? actions : nil
        }
        #expect(seen == [real], "the forged suspension was not reported")
    }
}

