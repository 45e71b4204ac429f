import Foundation
import HavenClient
import HavenProtocol
import HavenServer
import HavenStore
import HavenTestSupport
import Sodium
import Testing

/// Call signalling: sealed signals routed live between two parties, who may call whom, blocking,
/// declines, ringing limits, sanctions, and the optional record that a call happened.
@Suite struct CallTests {
    let organisation = try! SigningKeyPair.generate()
    let lobby = try! RoomID("lobby")

    /// A server trusting this suite's organisation key, a client loop, and a verified counsellor.
    struct Scene {
        let server: TestServer
        let loop: ClientLoop
        let counsellor: TestClient
        let lobby: RoomID

        /// A member who joined the lobby, holds its key and turned calls on (they are off until then).
        func member(_ name: String) async throws -> TestClient {
            let member = try TestClient(name, loop: loop.loop, organisation: server.organisationKey)
            try await member.enter(server, room: lobby)
            await member.client.setCallPreferences(acceptCalls: true)
            return member
        }
    }

    /// A scene with `configure` applied to the server; the counsellor is in the lobby unless told not.
    func scene(counsellorInLobby: Bool = true, _ configure: (inout ServerConfiguration) -> Void = { _ in }) async throws -> Scene {
        let key = organisation.publicKey
        let server = try TestServer {
            $0.organisationPublicKey = key
            configure(&$0)
        }
        let loop = try ClientLoop()
        let counsellor = try await server.staffClient(.counsellor, "Ana", organisation: organisation, loop: loop)
        if counsellorInLobby {
            _ = try await counsellor.client.join(lobby)
            await counsellor.client.waitForKey(lobby)
        }
        return Scene(server: server, loop: loop, counsellor: counsellor, lobby: lobby)
    }

    @Test func aCounsellorCallsAMemberAndEveryStepTravelsSealedToThemOnly() async throws {
        let scene = try await scene()
        let ana = scene.counsellor
        let alice = try await scene.member("Quiet Otter")
        let bob = try await scene.member("Calm Heron")
        let call = CallID()

        try await ana.client.sendCallSignal(call.ring(.video), to: alice.member)
        let ring = try await alice.waitForSignal(.ring, from: ana.member)
        #expect(ring == call.ring(.video))
        try await alice.client.sendCallSignal(call.accept(.audio), to: ana.member)
        #expect(try await ana.waitForSignal(.accept, from: alice.member).media == .audio)
        try await ana.client.sendCallSignal(call.signal(.offer, sdp: "v=0 offer"), to: alice.member)
        #expect(try await alice.waitForSignal(.offer, from: ana.member).sdp == "v=0 offer")
        try await alice.client.sendCallSignal(call.signal(.answer, sdp: "v=0 answer"), to: ana.member)
        #expect(try await ana.waitForSignal(.answer, from: alice.member).sdp == "v=0 answer")
        try await ana.client.sendCallSignal(call.signal(.ice, candidate: #"{"candidate":"a"}"#), to: alice.member)
        try await alice.client.sendCallSignal(call.signal(.ice, candidate: #"{"candidate":"b"}"#), to: ana.member)
        #expect(try await alice.waitForSignal(.ice, from: ana.member).candidate == #"{"candidate":"a"}"#)
        #expect(try await ana.waitForSignal(.ice, from: alice.member).candidate == #"{"candidate":"b"}"#)
        try await alice.client.sendCallSignal(call.signal(.hangup), to: ana.member)
        _ = try await ana.waitForSignal(.hangup, from: alice.member)

        try await ana.client.sendCallSignal(call.signal(.offer, sdp: "v=0 late"), to: alice.member)
        #expect(try await ana.waitForError("no_such_call").call == call.id, "a hung-up call carries nothing more")
        #expect(bob.callSignals().isEmpty, "a bystander in the same room sees no call")
        let database = try Data(contentsOf: URL(fileURLWithPath: scene.server.databasePath)) + ((try? Data(contentsOf: URL(fileURLWithPath: scene.server.databasePath + "-wal"))) ?? Data())
        #expect(database.range(of: Data("v=0".utf8)) == nil, "signals are never stored")
        let store = try HavenStore(path: scene.server.databasePath)
        defer { store.close() }
        #expect(try store.performAndWait { try $0.callLog() }.isEmpty, "call auditing is off by default")
    }

    @Test func membersMayCallOnlyCounsellorsWhoOfferCalls() async throws {
        let scene = try await scene()
        let ana = scene.counsellor
        let alice = try await scene.member("Quiet Otter")
        let bob = try await scene.member("Calm Heron")

        try await alice.client.sendCallSignal(CallID().ring(.audio), to: bob.member)
        #expect(try await alice.waitForError("not_allowed_to_call").message == "members may call counsellors who offer calls")
        try await alice.client.sendCallSignal(CallID().ring(.audio), to: ana.member)
        _ = try await alice.waitForErrors("not_allowed_to_call", count: 2)
        await alice.client.setCallPreferences(acceptCalls: true, offerCalls: true)
        #expect(try await alice.waitForError("not_a_counsellor").message == "only counsellors can offer calls")

        await ana.client.setCallPreferences(acceptCalls: true, offerCalls: true)
        try await alice.log.wait("the offer announced") { events in
            events.contains { if case .callAvailability(let offer) = $0 { offer == CallAvailability(member: ana.member, offersCalls: true) } else { false } } ? true : nil
        }
        let carol = try TestClient("Kind Fox", loop: scene.loop.loop, organisation: organisation.publicKey)
        let joined = try await carol.enter(scene.server, room: lobby)
        #expect(joined.members.first { $0.member == ana.member }?.offersCalls == true, "a newcomer sees who offers calls")
        let call = CallID()
        try await alice.client.sendCallSignal(call.ring(.audio), to: ana.member)
        #expect(try await ana.waitForSignal(.ring, from: alice.member).call == call.id)
    }

    @Test func aCounsellorMayCallAMemberOutsideTheirRoomsOnlyIfTheyTalkPrivately() async throws {
        let scene = try await scene(counsellorInLobby: false)
        let ana = scene.counsellor
        let alice = try await scene.member("Quiet Otter")

        try await ana.client.sendCallSignal(CallID().ring(.video), to: alice.member)
        #expect(try await ana.waitForError("not_allowed_to_call").message == "counsellors may call members they are talking to")
        _ = try await alice.client.sendDirect("could we talk?", to: ana.member)
        let call = CallID()
        try await ana.client.sendCallSignal(call.ring(.video), to: alice.member)
        #expect(try await alice.waitForSignal(.ring, from: ana.member).call == call.id)
    }

    @Test func aMemberMayCallACounsellorWhoOffersCallsWithoutSharingARoom() async throws {
        let scene = try await scene(counsellorInLobby: false)
        let ana = scene.counsellor
        let alice = try await scene.member("Quiet Otter")
        await ana.client.setCallPreferences(acceptCalls: true, offerCalls: true)
        let call = CallID()
        try await alice.client.sendCallSignal(call.ring(.audio), to: ana.member)
        #expect(try await ana.waitForSignal(.ring, from: alice.member).call == call.id)
    }

    @Test func aMemberCanBlockCallsAndADeclinedCallerMayNotRingAgainAtOnce() async throws {
        let scene = try await scene()
        let ana = scene.counsellor
        let alice = try await scene.member("Quiet Otter")

        await alice.client.setCallPreferences(acceptCalls: false)
        try await ana.client.sendCallSignal(CallID().ring(.video), to: alice.member)
        #expect(try await ana.waitForError("calls_blocked").message == "this member does not take calls")
        #expect(alice.callSignals().isEmpty, "a member who blocks calls is never rung")

        await alice.client.setCallPreferences(acceptCalls: true)
        let call = CallID()
        try await ana.client.sendCallSignal(call.ring(.video), to: alice.member)
        _ = try await alice.waitForSignal(.ring, from: ana.member)
        try await alice.client.sendCallSignal(call.signal(.decline, reason: "not now"), to: ana.member)
        #expect(try await ana.waitForSignal(.decline, from: alice.member).reason == "not now")
        try await ana.client.sendCallSignal(CallID().ring(.video), to: alice.member)
        #expect(try await ana.waitForError("declined_recently").message == "this member declined your call; try again later")
        #expect(alice.callSignals().count == 1, "the declined call rings no more")
    }

    @Test func ringingIsRateLimitedAndAnUnansweredCallStops() async throws {
        let scene = try await scene {
            $0.calls.ringTimeoutSeconds = 1
            $0.calls.ringBurst = 2
            $0.calls.ringsPerMinute = 0.01
        }
        let ana = scene.counsellor
        let alice = try await scene.member("Quiet Otter")

        let unanswered = CallID()
        try await ana.client.sendCallSignal(unanswered.ring(.audio), to: alice.member)
        #expect(try await alice.waitForCallEnded(unanswered) == "no_answer")
        #expect(try await ana.waitForCallEnded(unanswered) == "no_answer")
        let second = CallID()
        try await ana.client.sendCallSignal(second.ring(.audio), to: alice.member)
        _ = try await alice.waitForSignal(.ring, from: ana.member, count: 2)
        try await ana.client.sendCallSignal(second.signal(.hangup), to: alice.member)
        _ = try await alice.waitForSignal(.hangup, from: ana.member)
        try await ana.client.sendCallSignal(CallID().ring(.audio), to: alice.member)
        #expect(try await ana.waitForError("ring_rate_limited").message == "too many calls started; wait a minute")
    }

    @Test func ringsAreCountedPerIdentityWhateverTheConnection() async throws {
        let scene = try await scene {
            $0.calls.ringBurst = 2
            $0.calls.ringsPerMinute = 0.01
        }
        let ana = scene.counsellor
        await ana.client.setCallPreferences(acceptCalls: true, offerCalls: true)
        let identity = try SigningKeyPair.generate()
        let alice = try TestClient("Quiet Otter", loop: scene.loop.loop, identity: identity, organisation: organisation.publicKey)
        _ = try await alice.enter(scene.server, room: lobby)
        for round in 1...2 {
            let call = CallID()
            try await alice.client.sendCallSignal(call.ring(.audio), to: ana.member)
            _ = try await ana.waitForSignal(.ring, from: alice.member, count: round)
            try await alice.client.sendCallSignal(call.signal(.hangup, reason: "changed my mind"), to: ana.member)
            _ = try await ana.waitForSignal(.hangup, from: alice.member, count: round)
        }
        // The same identity on a new connection has no fresh rings to spend.
        let again = try TestClient("Quiet Otter", loop: scene.loop.loop, identity: identity, organisation: organisation.publicKey)
        _ = try await again.enter(scene.server, room: lobby)
        try await again.client.sendCallSignal(CallID().ring(.audio), to: ana.member)
        #expect(try await again.waitForError("ring_rate_limited").message == "too many calls started; wait a minute")
    }

    @Test func membersRingsFromOneNetworkAreCountedWhateverTheIdentitiesButStaffsAreNot() async throws {
        let scene = try await scene {
            $0.calls.addressRingBurst = 3
            $0.calls.addressRingsPerMinute = 0.01
        }
        let ana = scene.counsellor
        await ana.client.setCallPreferences(acceptCalls: true, offerCalls: true)
        // Fresh identities from one network share its rings.
        var members: [TestClient] = []
        for round in 1...4 {
            let member = try await scene.member("Quiet Otter")
            members.append(member)
            let call = CallID()
            try await member.client.sendCallSignal(call.ring(.audio), to: ana.member)
            if round == 4 {
                #expect(try await member.waitForError("address_ring_rate_limited").message
                    == "many calls are being made from this network just now; try again in a minute")
                break
            }
            _ = try await ana.waitForSignal(.ring, from: member.member)
            try await member.client.sendCallSignal(call.signal(.hangup), to: ana.member)
            _ = try await ana.waitForSignal(.hangup, from: member.member)
        }
        // The counsellor, on the same network, still rings every one of them.
        for member in members {
            let call = CallID()
            try await ana.client.sendCallSignal(call.ring(.audio), to: member.member)
            _ = try await member.waitForSignal(.ring, from: ana.member)
            try await ana.client.sendCallSignal(call.signal(.hangup), to: member.member)
            _ = try await member.waitForSignal(.hangup, from: ana.member)
        }
    }

    @Test func aCallerWhoDropsWhileRingingStopsTheRinging() async throws {
        let scene = try await scene()
        let ana = scene.counsellor
        let alice = try await scene.member("Quiet Otter")

        let call = CallID()
        try await ana.client.sendCallSignal(call.ring(.video), to: alice.member)
        _ = try await alice.waitForSignal(.ring, from: ana.member)
        await ana.client.disconnect(abruptly: true)
        #expect(try await alice.waitForCallEnded(call) == "disconnected")
        try await alice.client.sendCallSignal(call.accept(.video), to: ana.member)
        #expect(try await alice.waitForError("no_such_call").call == call.id, "the call is gone")
    }

    @Test func someoneElseLeavingDoesNotStopARingingCall() async throws {
        let scene = try await scene()
        let ana = scene.counsellor
        let alice = try await scene.member("Quiet Otter")
        let bob = try await scene.member("Calm Heron")

        let call = CallID()
        try await ana.client.sendCallSignal(call.ring(.audio), to: alice.member)
        _ = try await alice.waitForSignal(.ring, from: ana.member)
        await bob.client.disconnect(abruptly: true)
        _ = try await ana.log.wait("Bob's departure") { events in
            events.contains { if case .memberLeft(_, let member) = $0 { member == bob.member } else { false } } ? true : nil
        }
        try await alice.client.sendCallSignal(call.accept(.audio), to: ana.member)
        #expect(try await ana.waitForSignal(.accept, from: alice.member).call == call.id, "the call still rang")
    }

    @Test func aCallThatCarriesTooManyStepsIsEnded() async throws {
        let scene = try await scene { $0.calls.maxSignalsPerCall = 4 }
        let ana = scene.counsellor
        let alice = try await scene.member("Quiet Otter")

        let call = CallID()
        try await ana.client.sendCallSignal(call.ring(.audio), to: alice.member)
        _ = try await alice.waitForSignal(.ring, from: ana.member)
        try await alice.client.sendCallSignal(call.accept(.audio), to: ana.member)
        _ = try await ana.waitForSignal(.accept, from: alice.member)
        for candidate in ["a", "b", "c"] {
            try await ana.client.sendCallSignal(call.signal(.ice, candidate: candidate), to: alice.member)
        }
        #expect(try await alice.waitForCallEnded(call) == "too_many_signals")
        #expect(try await ana.waitForCallEnded(call) == "too_many_signals")
        #expect(alice.callSignals().filter { $0.0.kind == .ice }.count == 2, "the step over the limit is not delivered")
    }

    @Test func suspensionsAndBansEndCallsAndStopNewOnes() async throws {
        let scene = try await scene()
        let ana = scene.counsellor
        await ana.client.setCallPreferences(acceptCalls: true, offerCalls: true)
        let alice = try await scene.member("Quiet Otter")
        let bob = try await scene.member("Calm Heron")

        let call = CallID()
        try await alice.client.sendCallSignal(call.ring(.audio), to: ana.member)
        _ = try await ana.waitForSignal(.ring, from: alice.member)
        try await ana.client.sendCallSignal(call.accept(.audio), to: alice.member)
        _ = try await alice.waitForSignal(.accept, from: ana.member)
        try await ana.client.moderate(.suspend, target: alice.member, until: UInt64(Date().timeIntervalSince1970) + 3600)
        #expect(try await alice.waitForCallEnded(call) == "sanctioned")
        #expect(try await ana.waitForCallEnded(call) == "sanctioned")
        try await alice.client.sendCallSignal(CallID().ring(.audio), to: ana.member)
        #expect(try await alice.waitForError("suspended").message == "you are suspended; calls are not available for now")
        try await ana.client.sendCallSignal(CallID().ring(.audio), to: alice.member)
        _ = try await ana.waitForError("callee_unavailable")

        try await ana.client.moderate(.ban, target: bob.member)
        try await bob.log.wait("the banned member disconnected") { events in
            events.contains { if case .disconnected = $0 { true } else { false } } ? true : nil
        }
        try await ana.client.sendCallSignal(CallID().ring(.audio), to: bob.member)
        _ = try await ana.waitForErrors("callee_unavailable", count: 2)
    }

    @Test func signalsOutOfTurnOrFromOutsidersAreRefusedAndTheServerKeepsServing() async throws {
        let scene = try await scene()
        let ana = scene.counsellor
        let alice = try await scene.member("Quiet Otter")
        let bob = try await scene.member("Calm Heron")

        let call = CallID()
        try await ana.client.sendCallSignal(call.ring(.video), to: alice.member)
        _ = try await alice.waitForSignal(.ring, from: ana.member)
        try await ana.client.sendCallSignal(call.signal(.offer, sdp: "v=0 early"), to: alice.member)
        #expect(try await ana.waitForError("unexpected_call_signal").message == "offer does not fit this call now")
        try await bob.client.sendCallSignal(call.accept(.video), to: ana.member)
        #expect(try await bob.waitForError("no_such_call").call == call.id, "an outsider cannot take over a call")
        // A step sealed by someone else's key, sent on an outsider's connection: the server goes by
        // the connection, whatever the seal holds.
        let forged = try CallFrame.seal(call.signal(.hangup), from: SigningKeyPair.generate(), to: alice.member)
        await bob.client.sendRaw(String(decoding: FrameCodec.encode(.callSignal(forged)), as: UTF8.self))
        _ = try await bob.waitForErrors("no_such_call", count: 2)
        var besideTheSeal = try CallFrame.seal(call.signal(.hangup), from: ana.client.identity, to: alice.member)
        besideTheSeal.message.sender = ana.member
        await ana.client.sendRaw(String(decoding: FrameCodec.encode(.callSignal(besideTheSeal)), as: UTF8.self))
        #expect(try await ana.waitForError("invalid_field").message == "field \"sender\" is invalid: the sender travels inside the seal, never beside it")
        try await alice.client.sendCallSignal(CallID().ring(.audio), to: alice.member)
        _ = try await alice.waitForError("invalid_call")

        try await alice.client.sendCallSignal(call.accept(.video), to: ana.member)
        _ = try await ana.waitForSignal(.accept, from: alice.member)
        await ana.client.disconnect(abruptly: true)
        #expect(try await alice.waitForCallEnded(call) == "disconnected")
        _ = try await bob.client.send("still here", to: lobby)
        #expect(try await alice.waitForTexts(1, in: lobby) == ["still here"])
    }

    @Test func withCallAuditingOnTheServerRecordsThatAnAnsweredCallHappenedAndNothingMore() async throws {
        let scene = try await scene { $0.calls.audit = true }
        let ana = scene.counsellor
        let alice = try await scene.member("Quiet Otter")

        let declined = CallID()
        try await ana.client.sendCallSignal(declined.ring(.video), to: alice.member)
        _ = try await alice.waitForSignal(.ring, from: ana.member)
        try await alice.client.sendCallSignal(declined.signal(.busy), to: ana.member)
        _ = try await ana.waitForSignal(.busy, from: alice.member)
        let call = CallID()
        try await ana.client.sendCallSignal(call.ring(.video), to: alice.member)
        _ = try await alice.waitForSignal(.ring, from: ana.member, count: 2)
        try await alice.client.sendCallSignal(call.accept(.video), to: ana.member)
        _ = try await ana.waitForSignal(.accept, from: alice.member)
        try await ana.client.sendCallSignal(call.signal(.hangup), to: alice.member)
        _ = try await alice.waitForSignal(.hangup, from: ana.member)

        let store = try HavenStore(path: scene.server.databasePath)
        defer { store.close() }
        let records = try await waitFor("the call record") {
            let records = try store.performAndWait { try $0.callLog() }
            return records.isEmpty ? nil : records
        }
        #expect(records.count == 1, "only the answered call is recorded")
        #expect(records.first?.caller == ana.member.bytes && records.first?.callee == alice.member.bytes)
        #expect((records.first?.endedAt ?? 0) >= (records.first?.startedAt ?? 1))
    }
}

/// A call id with builders for its signals.
struct CallID {
    let id = WireBytes(RandomBytes.bytes(count: CallSignal.callIDLength))
    static let fingerprint = "sha-256 " + (0..<32).map { String(format: "%02X", $0 * 7 % 256) }.joined(separator: ":")

    func ring(_ media: CallMedia) -> CallSignal { CallSignal(call: id, kind: .ring, media: media, fingerprint: Self.fingerprint) }
    func accept(_ media: CallMedia) -> CallSignal { CallSignal(call: id, kind: .accept, media: media, fingerprint: Self.fingerprint) }
    func signal(_ kind: CallSignalKind, sdp: String? = nil, candidate: String? = nil, reason: String? = nil) -> CallSignal {
        CallSignal(call: id, kind: kind, sdp: sdp, candidate: candidate, reason: reason)
    }
}

extension TestClient {
    /// The call signals received so far.
    func callSignals() -> [(CallSignal, MemberID)] {
        log.events.compactMap { if case .callSignal(let signal, let sender) = $0 { (signal, sender) } else { nil } }
    }

    /// Waits for the `count`-th signal of `kind` from `sender`.
    func waitForSignal(_ kind: CallSignalKind, from sender: MemberID, count: Int = 1) async throws -> CallSignal {
        try await log.wait("\(kind) signal") { _ in
            let matching = callSignals().filter { $0.0.kind == kind && $0.1 == sender }
            return matching.count >= count ? matching[count - 1].0 : nil
        }
    }

    /// Waits for the `count`-th refusal with `code`.
    @discardableResult
    func waitForErrors(_ code: String, count: Int) async throws -> ErrorFrame {
        try await log.wait("\(count) \(code) errors") { events in
            let errors = events.compactMap { if case .serverError(let error) = $0, error.code == code { error } else { nil } }
            return errors.count >= count ? errors[count - 1] : nil
        }
    }

    /// Waits for a refusal with `code`.
    func waitForError(_ code: String) async throws -> ErrorFrame { try await waitForErrors(code, count: 1) }

    /// Waits for the server to end `call` and returns the reason.
    func waitForCallEnded(_ call: CallID) async throws -> String {
        try await log.wait("call ended") { events in
            events.lazy.compactMap { if case .callEnded(let ended) = $0, ended.call == call.id { ended.reason } else { nil } }.first
        }
    }
}
