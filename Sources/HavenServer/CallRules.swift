import HavenProtocol

/// A call the server is routing signals for. Only this, in memory, exists on the server about a
/// call (plus, when the operator turns call auditing on, one row once it ends).
struct ActiveCall: Equatable {
    let id: WireBytes
    let caller: MemberID
    let callee: MemberID
    let callerConnection: Int
    /// The callee's connection that accepted; before that every callee connection rings.
    var calleeConnection: Int?
    /// Loop time of the ring, for the ring timeout.
    let rangAt: UInt64
    /// Wall-clock seconds of the accept.
    var answeredAt: Int64?
    var signals = 1

    /// The other party of `member`.
    func peer(of member: MemberID) -> MemberID { member == caller ? callee : caller }

    /// Whether the connection belongs to this call (each of the callee's connections does until
    /// one accepts); nobody else's does.
    func involves(connection: Int, member: MemberID) -> Bool {
        if member == caller { return connection == callerConnection }
        return member == callee && (calleeConnection == nil || calleeConnection == connection)
    }
}

/// A caller and a callee, for the cooldown after a decline.
struct CallPair: Hashable {
    let caller: MemberID
    let callee: MemberID
}

/// The calls the server routes signals for, and their rules: who may ring whom now, which step
/// may follow which, and when a call ends. Pure state, no I/O: each method returns the
/// ``Action``s the server carries out (send a signal on, tell a party the call ended, record it).
struct CallRules {
    /// What the server knows, from sessions and sanctions, about a caller and a callee when a
    /// ring comes.
    struct RingFacts: Equatable {
        var callerIsCounsellor = false
        var callerSuspended = false
        /// The callee has a connection now.
        var calleeOnline = false
        /// The callee is suspended or banned.
        var calleeSanctioned = false
        /// Every connection of the callee takes calls (turned them on, or offers them).
        var calleeTakesCalls = false
        /// The callee is a counsellor who offers calls.
        var calleeOffersCalls = false
        /// The callee wrote to the caller, was taken by them from the waiting line, or shares a room with them.
        var calleeKnowsCaller = false
    }

    /// What the server must do.
    enum Action: Equatable {
        /// Refuse the step with this error; nothing changed.
        case refuse(code: String, message: String)
        /// Send the signal on to `member`'s connections in the call.
        case forward(ActiveCall, to: MemberID)
        /// Tell the callee's other connections (all but `connection`) the call ended for `reason`.
        case tellOtherDevices(ActiveCall, exceptConnection: Int, reason: String)
        /// Tell both parties' connections in the call that it ended for `reason`.
        case end(ActiveCall, reason: String)
        /// The call is over (record it if call auditing is on and it was answered).
        case finished(ActiveCall)
    }

    let settings: CallSettings
    private(set) var calls: [WireBytes: ActiveCall] = [:]
    private var declinedUntil: [CallPair: Int64] = [:]

    init(settings: CallSettings) {
        self.settings = settings
    }

    /// Why `caller` may not ring `callee` with this call id now, or nil if they may.
    func refusalToRing(_ id: WireBytes, caller: MemberID, callee: MemberID, facts: RingFacts, wallClock: Int64) -> (code: String, message: String)? {
        if !facts.callerIsCounsellor && !facts.calleeOffersCalls {
            return ("not_allowed_to_call", "members may call counsellors who offer calls")
        }
        if calls[id] != nil { return ("invalid_call", "this call id is already in use") }
        if facts.callerSuspended { return ("suspended", "you are suspended; calls are not available for now") }
        if isInCall(caller) { return ("already_in_call", "end your current call first") }
        if !facts.calleeOnline || facts.calleeSanctioned { return ("callee_unavailable", "this member cannot take a call now") }
        // A member takes calls once they turned them on; a counsellor who offers calls takes them.
        if !facts.calleeTakesCalls { return ("calls_blocked", "this member does not take calls") }
        if (declinedUntil[CallPair(caller: caller, callee: callee)] ?? 0) > wallClock {
            return ("declined_recently", "this member declined your call; try again later")
        }
        if isInCall(callee) { return ("busy", "this member is in another call") }
        // A counsellor rings a member they share a room with, or one who is talking to them.
        if facts.callerIsCounsellor && !facts.calleeOffersCalls && !facts.calleeKnowsCaller {
            return ("not_allowed_to_call", "counsellors may call members they are talking to")
        }
        return nil
    }

    /// The connection that stands for a party on another node.
    static let elsewhere = -1

    /// Why `caller` may not ring a callee on another node now, as far as this node can tell (the
    /// callee's node checks the callee's side), or nil.
    func refusalToRingElsewhere(_ id: WireBytes, caller: MemberID, callerSuspended: Bool) -> (code: String, message: String)? {
        if calls[id] != nil { return ("invalid_call", "this call id is already in use") }
        if callerSuspended { return ("suspended", "you are suspended; calls are not available for now") }
        if isInCall(caller) { return ("already_in_call", "end your current call first") }
        return nil
    }

    /// Starts a call whose callee is on another node, where the ring went.
    mutating func ringElsewhere(_ id: WireBytes, caller: MemberID, callee: MemberID, callerConnection: Int, now: UInt64) {
        calls[id] = ActiveCall(id: id, caller: caller, callee: callee, callerConnection: callerConnection, rangAt: now)
    }

    /// Forgets a call the callee's node would not ring; the call, if it was still there.
    mutating func cancel(_ id: WireBytes) -> ActiveCall? {
        calls.removeValue(forKey: id)
    }

    /// Ends a call its other party's node ended (a timeout, a sanction, a disconnection there).
    mutating func endedElsewhere(_ id: WireBytes, reason: String) -> [Action] {
        guard let call = calls[id] else { return [] }
        return end(call, reason: reason)
    }

    /// Starts ringing (after ``refusalToRing(_:caller:callee:facts:wallClock:)`` said nothing and
    /// the ring budget allowed it): the ring goes to every connection of the callee.
    mutating func ring(_ id: WireBytes, caller: MemberID, callee: MemberID, callerConnection: Int, now: UInt64) -> [Action] {
        let call = ActiveCall(id: id, caller: caller, callee: callee, callerConnection: callerConnection, rangAt: now)
        calls[id] = call
        return [.forward(call, to: callee)]
    }

    /// One signalling step after the ring, from `member` on `connection` to `recipient`: it must
    /// belong to a call between the two and come in its turn.
    mutating func signal(
        _ signal: CallSignalKind, call id: WireBytes, from member: MemberID, connection: Int, to recipient: MemberID, wallClock: Int64
    ) -> [Action] {
        guard var call = calls[id], call.caller == member || call.callee == member,
              recipient == call.peer(of: member), call.involves(connection: connection, member: member)
        else { return [.refuse(code: "no_such_call", message: "no such call (it may have ended)")] }
        let fromCaller = member == call.caller
        let answered = call.answeredAt != nil
        let inTurn = switch signal {
        case .accept, .decline, .busy: !fromCaller && !answered
        case .offer: fromCaller && answered
        case .answer: !fromCaller && answered
        case .ice, .media: answered
        case .hangup: true
        case .ring: false
        }
        guard inTurn else { return [.refuse(code: "unexpected_call_signal", message: "\(signal.rawValue) does not fit this call now")] }
        call.signals += 1
        guard call.signals <= settings.maxSignalsPerCall else { return end(call, reason: "too_many_signals") }
        switch signal {
        case .accept:
            call.answeredAt = wallClock
            call.calleeConnection = connection
            calls[id] = call
            return [.tellOtherDevices(call, exceptConnection: connection, reason: "answered_elsewhere"), .forward(call, to: call.peer(of: member))]
        case .decline, .busy, .hangup:
            if signal == .decline {
                declinedUntil[CallPair(caller: call.caller, callee: call.callee)] = wallClock + settings.declineCooldownSeconds
            }
            calls[id] = nil
            let others: [Action] = !answered && !fromCaller
                ? [.tellOtherDevices(call, exceptConnection: connection, reason: "answered_elsewhere")] : []
            return others + [.forward(call, to: call.peer(of: member)), .finished(call)]
        case .offer, .answer, .ice, .media, .ring:
            calls[id] = call
            return [.forward(call, to: call.peer(of: member))]
        }
    }

    /// Ends every call of `member` (a suspension or a ban).
    mutating func endCalls(of member: MemberID, reason: String) -> [Action] {
        calls.values.filter { $0.caller == member || $0.callee == member }.flatMap { end($0, reason: reason) }
    }

    /// Ends the calls a closing connection of `member` was part of; a callee still online
    /// elsewhere keeps ringing there.
    mutating func endCalls(ofClosed connection: Int, member: MemberID, stillOnline: Bool) -> [Action] {
        calls.values
            .filter { $0.involves(connection: connection, member: member) }
            .filter { !(member == $0.callee && $0.calleeConnection == nil && stillOnline) }
            .flatMap { end($0, reason: "disconnected") }
    }

    /// Stops calls that rang longer than the ring timeout, and forgets expired decline cooldowns.
    mutating func expire(now: UInt64, wallClock: Int64) -> [Action] {
        let limit = UInt64(settings.ringTimeoutSeconds) * 1000
        declinedUntil = declinedUntil.filter { $0.value > wallClock }
        return calls.values.filter { $0.answeredAt == nil && now &- $0.rangAt > limit }.flatMap { end($0, reason: "no_answer") }
    }

    /// Whether `member` is calling, or has answered a call.
    func isInCall(_ member: MemberID) -> Bool {
        calls.values.contains { $0.caller == member || ($0.callee == member && $0.answeredAt != nil) }
    }

    /// The call with this id, if it is ringing or in progress.
    subscript(id: WireBytes) -> ActiveCall? { calls[id] }

    private mutating func end(_ call: ActiveCall, reason: String) -> [Action] {
        calls[call.id] = nil
        return [.end(call, reason: reason), .finished(call)]
    }
}
