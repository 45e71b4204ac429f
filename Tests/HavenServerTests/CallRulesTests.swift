import HavenProtocol
@testable import HavenServer
import Sodium
import Testing

/// The call rules alone, without a server: who may ring whom, which step may follow which, and
/// when a call ends, with what the server must carry out each time.
@Suite struct CallRulesTests {
    let counsellor = MemberID(try! SigningKeyPair.generate().publicKey)
    let member = MemberID(try! SigningKeyPair.generate().publicKey)
    let stranger = MemberID(try! SigningKeyPair.generate().publicKey)
    let call = WireBytes(Array(repeating: 7, count: 16))
    let counsellorPhone = 1
    let memberPhone = 2
    let memberLaptop = 3

    /// A counsellor ringing a member who wrote to them, who is online and takes calls.
    let reachable = CallRules.RingFacts(callerIsCounsellor: true, calleeOnline: true, calleeTakesCalls: true, calleeKnowsCaller: true)

    func ringing(_ settings: CallSettings = CallSettings()) -> CallRules {
        var rules = CallRules(settings: settings)
        #expect(rules.refusalToRing(call, caller: counsellor, callee: member, facts: reachable, wallClock: 1_000) == nil)
        _ = rules.ring(call, caller: counsellor, callee: member, callerConnection: counsellorPhone, now: 0)
        return rules
    }

    func answered() -> CallRules {
        var rules = ringing()
        _ = rules.signal(.accept, call: call, from: member, connection: memberPhone, to: counsellor, wallClock: 1_001)
        return rules
    }

    func code(_ actions: [CallRules.Action]) -> String? {
        guard case .refuse(let code, _)? = actions.first, actions.count == 1 else { return nil }
        return code
    }

    @Test func whoMayRingWhom() {
        let rules = CallRules(settings: CallSettings())
        func refusal(_ facts: CallRules.RingFacts, caller: MemberID? = nil) -> String? {
            rules.refusalToRing(call, caller: caller ?? counsellor, callee: member, facts: facts, wallClock: 1_000)?.code
        }
        #expect(refusal(reachable) == nil)
        var fromAMember = reachable
        fromAMember.callerIsCounsellor = false
        #expect(refusal(fromAMember, caller: stranger) == "not_allowed_to_call", "a member calls only counsellors who offer calls")
        fromAMember.calleeOffersCalls = true
        #expect(refusal(fromAMember, caller: stranger) == nil)
        var unknown = reachable
        unknown.calleeKnowsCaller = false
        #expect(refusal(unknown) == "not_allowed_to_call", "a counsellor calls only members talking to them")
        var suspended = reachable
        suspended.callerSuspended = true
        #expect(refusal(suspended) == "suspended")
        var offline = reachable
        offline.calleeOnline = false
        #expect(refusal(offline) == "callee_unavailable")
        var banned = reachable
        banned.calleeSanctioned = true
        #expect(refusal(banned) == "callee_unavailable")
        var blocked = reachable
        blocked.calleeTakesCalls = false
        #expect(refusal(blocked) == "calls_blocked")
    }

    @Test func aRingGoesToTheCalleeAndItsIdCannotBeUsedTwice() {
        var rules = CallRules(settings: CallSettings())
        let actions = rules.ring(call, caller: counsellor, callee: member, callerConnection: counsellorPhone, now: 0)
        guard case .forward(let ringing, let to)? = actions.first else { Issue.record("no forward: \(actions)"); return }
        #expect(to == member && ringing.calleeConnection == nil && actions.count == 1)
        #expect(rules.refusalToRing(call, caller: stranger, callee: counsellor, facts: reachable, wallClock: 1_000)?.code == "invalid_call")
        #expect(rules.isInCall(counsellor) && !rules.isInCall(member), "the callee is in the call only once it accepts")
    }

    @Test func busyPeopleCannotBeRungAndCannotRing() {
        let rules = answered()
        let other = WireBytes(Array(repeating: 8, count: 16))
        #expect(rules.refusalToRing(other, caller: counsellor, callee: stranger, facts: reachable, wallClock: 1_002)?.code == "already_in_call")
        #expect(rules.refusalToRing(other, caller: stranger, callee: member, facts: reachable, wallClock: 1_002)?.code == "busy")
    }

    @Test func eachStepComesInItsTurn() {
        var rules = ringing()
        #expect(code(rules.signal(.offer, call: call, from: counsellor, connection: counsellorPhone, to: member, wallClock: 1_001)) == "unexpected_call_signal",
                "no offer before the callee accepts")
        #expect(code(rules.signal(.accept, call: call, from: counsellor, connection: counsellorPhone, to: member, wallClock: 1_001)) == "unexpected_call_signal",
                "the caller cannot accept its own call")
        let accepted = rules.signal(.accept, call: call, from: member, connection: memberPhone, to: counsellor, wallClock: 1_001)
        guard case .tellOtherDevices(let call, let except, "answered_elsewhere")? = accepted.first, case .forward(_, counsellor)? = accepted.last else {
            Issue.record("accept: \(accepted)")
            return
        }
        #expect(except == memberPhone && call.calleeConnection == memberPhone && call.answeredAt == 1_001)
        #expect(code(rules.signal(.accept, call: self.call, from: member, connection: memberPhone, to: counsellor, wallClock: 1_002)) == "unexpected_call_signal")
        for (signal, from, connection, to) in [(CallSignalKind.offer, counsellor, counsellorPhone, member), (.answer, member, memberPhone, counsellor),
                                               (.ice, counsellor, counsellorPhone, member), (.ice, member, memberPhone, counsellor)] {
            #expect(rules.signal(signal, call: self.call, from: from, connection: connection, to: to, wallClock: 1_003).count == 1, "\(signal) is forwarded")
        }
        #expect(code(rules.signal(.answer, call: self.call, from: counsellor, connection: counsellorPhone, to: member, wallClock: 1_003)) == "unexpected_call_signal")
    }

    @Test func onlyThePartiesOnTheirConnectionsTakePart() {
        var rules = answered()
        #expect(code(rules.signal(.ice, call: call, from: member, connection: memberLaptop, to: counsellor, wallClock: 1_002)) == "no_such_call",
                "after the accept, the callee's other devices are out of the call")
        #expect(code(rules.signal(.hangup, call: call, from: stranger, connection: 9, to: counsellor, wallClock: 1_002)) == "no_such_call")
        #expect(code(rules.signal(.ice, call: call, from: member, connection: memberPhone, to: stranger, wallClock: 1_002)) == "no_such_call")
        #expect(code(rules.signal(.ice, call: WireBytes([1]), from: member, connection: memberPhone, to: counsellor, wallClock: 1_002)) == "no_such_call")
    }

    @Test func aDeclineStopsTheCallAndTheSameCallerForAWhile() {
        var rules = ringing()
        let declined = rules.signal(.decline, call: call, from: member, connection: memberLaptop, to: counsellor, wallClock: 1_001)
        #expect(declined.count == 3, "the callee's other devices stop ringing, the caller hears, the call is over")
        guard case .finished? = declined.last else { Issue.record("decline: \(declined)"); return }
        #expect(rules[call] == nil)
        let cooldown = CallSettings().declineCooldownSeconds
        #expect(rules.refusalToRing(call, caller: counsellor, callee: member, facts: reachable, wallClock: 1_001 + cooldown - 1)?.code == "declined_recently")
        _ = rules.expire(now: 1, wallClock: 1_001 + cooldown)
        #expect(rules.refusalToRing(call, caller: counsellor, callee: member, facts: reachable, wallClock: 1_001 + cooldown) == nil)
    }

    @Test func aHangUpAfterTheAnswerEndsItWithoutTellingOtherDevices() {
        var rules = answered()
        let actions = rules.signal(.hangup, call: call, from: counsellor, connection: counsellorPhone, to: member, wallClock: 1_010)
        guard actions.count == 2, case .forward(_, member) = actions[0], case .finished(let call) = actions[1] else {
            Issue.record("hangup: \(actions)")
            return
        }
        #expect(call.answeredAt == 1_001 && rules[self.call] == nil)
    }

    @Test func tooManySignalsEndTheCall() {
        var settings = CallSettings()
        settings.maxSignalsPerCall = 3
        var rules = ringing(settings)
        _ = rules.signal(.accept, call: call, from: member, connection: memberPhone, to: counsellor, wallClock: 1_001)
        #expect(rules.signal(.ice, call: call, from: member, connection: memberPhone, to: counsellor, wallClock: 1_002).count == 1)
        let ended = rules.signal(.ice, call: call, from: member, connection: memberPhone, to: counsellor, wallClock: 1_002)
        guard case .end(_, "too_many_signals")? = ended.first else { Issue.record("fourth signal: \(ended)"); return }
        #expect(rules[call] == nil)
    }

    @Test func aClosedConnectionEndsOnlyTheCallsItCarried() {
        var rules = ringing()
        #expect(rules.endCalls(ofClosed: memberLaptop, member: member, stillOnline: true).isEmpty,
                "the callee's phone still rings")
        let ended = rules.endCalls(ofClosed: memberLaptop, member: member, stillOnline: false)
        guard case .end(_, "disconnected")? = ended.first else { Issue.record("last device: \(ended)"); return }
        var answered = answered()
        #expect(answered.endCalls(ofClosed: memberLaptop, member: member, stillOnline: true).isEmpty, "not the device in the call")
        #expect(answered.endCalls(ofClosed: counsellorPhone, member: counsellor, stillOnline: true).count == 2)
        #expect(answered[call] == nil)
    }

    @Test func aRingNobodyAnswersStopsAtTheTimeout() {
        var rules = ringing()
        let timeout = UInt64(CallSettings().ringTimeoutSeconds) * 1000
        #expect(rules.expire(now: timeout, wallClock: 1_045).isEmpty)
        guard case .end(_, "no_answer")? = rules.expire(now: timeout + 1, wallClock: 1_046).first else { Issue.record("no timeout"); return }
        var answered = answered()
        #expect(answered.expire(now: timeout * 10, wallClock: 2_000).isEmpty, "an answered call has no ring timeout")
    }

    @Test func aSanctionEndsEveryCallOfTheMember() {
        var rules = answered()
        let actions = rules.endCalls(of: member, reason: "sanctioned")
        guard case .end(_, "sanctioned")? = actions.first else { Issue.record("sanction: \(actions)"); return }
        #expect(!rules.isInCall(counsellor))
    }
}
