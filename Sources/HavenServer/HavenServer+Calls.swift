import HavenNet
import HavenProtocol
import HavenStore

/// A call the server is routing signals for. Only this, in memory, exists on the server about a
/// call (plus, when the operator turns call auditing on, one row once it ends).
struct ActiveCall {
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

extension HavenServer {
    /// Routes one signalling step. A `ring` starts a call if this caller may call this callee now;
    /// every other step must belong to a call between the two and come in the right order.
    func routeCallSignal(_ frame: CallFrame, from session: Session, member: MemberInfo) {
        do {
            try frame.message.requireSealedSenderAndPadding()
        } catch {
            refuse(session, code: error.code, message: error.description, call: frame.call)
            return
        }
        guard frame.message.recipient != member.member else {
            refuse(session, code: "invalid_call", message: "you cannot call yourself", call: frame.call)
            return
        }
        if frame.signal == .ring {
            ring(frame, from: session, member: member)
        } else {
            continueCall(frame, from: session, member: member)
        }
    }

    /// Records this connection's call settings; a counsellor's offer is announced to their rooms.
    func setCallPreferences(_ preferences: CallPreferences, session: Session, member: MemberInfo) {
        guard !preferences.offerCalls || member.staff?.invite.role == .counsellor else {
            refuse(session, code: "not_a_counsellor", message: "only counsellors can offer calls")
            return
        }
        let offeredBefore = offersCalls(member.member)
        session.acceptsCalls = preferences.acceptCalls
        session.offersCalls = preferences.offerCalls
        let offersNow = offersCalls(member.member)
        guard offersNow != offeredBefore else { return }
        var updated = member
        updated.offersCalls = offersNow
        for other in (sessionsByMember[member.member] ?? [:]).values { other.state = .authenticated(updated) }
        guard let frame = encode(.callAvailability(CallAvailability(member: member.member, offersCalls: offersNow))) else { return }
        var recipients: [Int: Session] = [:]
        for room in roomsOf(member.member) { recipients.merge(rooms[room]?.sessions ?? [:]) { $1 } }
        for recipient in recipients.values { recipient.connection.send(frame: frame) }
    }

    /// Ends every call of `member` (a suspension or a ban), telling both parties.
    func endCalls(of member: MemberID, reason: String) {
        for call in calls.values where call.caller == member || call.callee == member {
            end(call, reason: reason)
        }
    }

    /// Ends the calls a closing connection was part of, telling the other party.
    func endCalls(ofClosed connection: Int, member: MemberID) {
        let stillOnline = sessionsByMember[member]?.isEmpty == false
        for call in calls.values where call.involves(connection: connection, member: member) {
            if member == call.callee && call.calleeConnection == nil && stillOnline { continue }
            end(call, reason: "disconnected")
        }
    }

    /// Stops calls that rang too long, and forgets expired decline cooldowns.
    func expireRinging() {
        let limit = UInt64(configuration.calls.ringTimeoutSeconds) * 1000
        let now = loop.nowMilliseconds
        for call in calls.values where call.answeredAt == nil && now &- call.rangAt > limit {
            end(call, reason: "no_answer")
        }
        let wallClock = configuration.now()
        declinedUntil = declinedUntil.filter { $0.value > wallClock }
    }

    // MARK: Ringing

    private func ring(_ frame: CallFrame, from session: Session, member: MemberInfo) {
        let callee = frame.message.recipient
        guard member.staff?.invite.role == .counsellor || offersCalls(callee) else {
            refuse(session, code: "not_allowed_to_call", message: "members may call counsellors who offer calls", call: frame.call)
            return
        }
        if let (code, message) = ringRefusal(frame, caller: member, callee: callee, session: session) {
            refuse(session, code: code, message: message, call: frame.call)
            return
        }
        startRinging(frame, session: session)
    }

    /// Why this ring may not go out now, or nil; when it may, it takes a token from the ringing
    /// budget.
    private func ringRefusal(_ frame: CallFrame, caller: MemberInfo, callee: MemberID, session: Session) -> (String, String)? {
        let now = configuration.now()
        if calls[frame.call] != nil { return ("invalid_call", "this call id is already in use") }
        if sanctions.isSuspended(caller.member, now: now) { return ("suspended", "you are suspended; calls are not available for now") }
        if isInCall(caller.member) { return ("already_in_call", "end your current call first") }
        guard let calleeSessions = sessionsByMember[callee], !calleeSessions.isEmpty,
              !sanctions.isSuspended(callee, now: now), !sanctions.isBanned(callee)
        else { return ("callee_unavailable", "this member cannot take a call now") }
        // A member takes calls once they turned them on; a counsellor who offers calls takes them.
        if !calleeSessions.values.allSatisfy({ $0.acceptsCalls || $0.offersCalls }) { return ("calls_blocked", "this member does not take calls") }
        if (declinedUntil[CallPair(caller: caller.member, callee: callee)] ?? 0) > now {
            return ("declined_recently", "this member declined your call; try again later")
        }
        if isInCall(callee) { return ("busy", "this member is in another call") }
        // A counsellor rings a member they share a room with, or one who is talking to them.
        if caller.staff?.invite.role == .counsellor, !offersCalls(callee),
           !hasWritten(callee, to: caller.member), !calleeSessions.values.contains(where: { $0.takenBy.contains(caller.member) }),
           roomsOf(caller.member).isDisjoint(with: roomsOf(callee)) {
            return ("not_allowed_to_call", "counsellors may call members they are talking to")
        }
        return takeRingToken(session)
    }

    /// Rings are counted per identity, whatever connections it rings from, and (for members; staff
    /// share their organisation's network) per client address, whatever identities ring from it.
    /// Nil when the ring is allowed; otherwise which limit refused it (each is told in its own
    /// words: the network's limit is not the caller's doing).
    private func takeRingToken(_ session: Session) -> (code: String, message: String)? {
        guard let caller = session.member else { return ("not_authenticated", "log in first") }
        let settings = configuration.calls
        let now = loop.nowMilliseconds
        var bucket = ringBuckets[caller.member] ?? TokenBucket(rate: settings.ringsPerMinute / 60, burst: settings.ringBurst, now: now)
        defer { ringBuckets[caller.member] = bucket }
        guard bucket.available(now: now) >= 1 else { return ("ring_rate_limited", "too many calls started; wait a minute") }
        guard caller.staff != nil || addresses.allowRing(session.addressKey, now: now) else {
            return ("address_ring_rate_limited", "many calls are being made from this network just now; try again in a minute")
        }
        _ = bucket.take(now: now)
        return nil
    }

    private func startRinging(_ frame: CallFrame, session: Session) {
        guard let caller = session.member?.member else { return }
        let call = ActiveCall(id: frame.call, caller: caller, callee: frame.message.recipient,
                              callerConnection: session.connection.id, rangAt: loop.nowMilliseconds)
        calls[frame.call] = call
        counters.callsRung += 1
        forward(frame, in: call, from: call.caller)
    }

    // MARK: After the ring

    private func continueCall(_ frame: CallFrame, from session: Session, member: MemberInfo) {
        guard var call = calls[frame.call], call.caller == member.member || call.callee == member.member,
              frame.message.recipient == call.peer(of: member.member),
              call.involves(connection: session.connection.id, member: member.member)
        else {
            refuse(session, code: "no_such_call", message: "no such call (it may have ended)", call: frame.call)
            return
        }
        let fromCaller = member.member == call.caller
        let answered = call.answeredAt != nil
        let inOrder = switch frame.signal {
        case .accept, .decline, .busy: !fromCaller && !answered
        case .offer: fromCaller && answered
        case .answer: !fromCaller && answered
        case .ice, .media: answered
        case .hangup: true
        case .ring: false
        }
        guard inOrder else {
            refuse(session, code: "unexpected_call_signal", message: "\(frame.signal.rawValue) does not fit this call now", call: frame.call)
            return
        }
        call.signals += 1
        guard call.signals <= configuration.calls.maxSignalsPerCall else {
            end(call, reason: "too_many_signals")
            return
        }
        switch frame.signal {
        case .accept:
            call.answeredAt = configuration.now()
            call.calleeConnection = session.connection.id
            calls[call.id] = call
            counters.callsAnswered += 1
            tellOtherDevices(of: call, except: session, reason: "answered_elsewhere")
            forward(frame, in: call, from: member.member)
        case .decline, .busy, .hangup:
            if frame.signal == .decline {
                declinedUntil[CallPair(caller: call.caller, callee: call.callee)] = configuration.now() + configuration.calls.declineCooldownSeconds
            }
            if !answered && !fromCaller { tellOtherDevices(of: call, except: session, reason: "answered_elsewhere") }
            forward(frame, in: call, from: member.member)
            finish(call)
        case .offer, .answer, .ice, .media, .ring:
            calls[call.id] = call
            forward(frame, in: call, from: member.member)
        }
    }

    /// Sends the frame to the other party: the caller's connection, or the callee's accepting
    /// connection (every callee connection while it rings).
    private func forward(_ frame: CallFrame, in call: ActiveCall, from sender: MemberID) {
        guard let bytes = encode(.callSignal(frame)) else { return }
        for session in connections(of: call.peer(of: sender), in: call) { session.connection.send(frame: bytes) }
    }

    private func connections(of member: MemberID, in call: ActiveCall) -> [Session] {
        (sessionsByMember[member] ?? [:]).values.filter { call.involves(connection: $0.connection.id, member: member) }
    }

    private func tellOtherDevices(of call: ActiveCall, except session: Session, reason: String) {
        guard let bytes = encode(.callEnded(CallEnded(call: call.id, reason: reason))) else { return }
        for other in (sessionsByMember[call.callee] ?? [:]).values where other !== session { other.connection.send(frame: bytes) }
    }

    /// Tells both parties the call ended for `reason`, then forgets it.
    private func end(_ call: ActiveCall, reason: String) {
        if let bytes = encode(.callEnded(CallEnded(call: call.id, reason: reason))) {
            for member in [call.caller, call.callee] {
                for session in connections(of: member, in: call) { session.connection.send(frame: bytes) }
            }
        }
        finish(call)
    }

    /// Forgets the call; with call auditing on, records that an answered call happened.
    private func finish(_ call: ActiveCall) {
        calls[call.id] = nil
        guard configuration.calls.audit, let answeredAt = call.answeredAt else { return }
        let (caller, callee, endedAt) = (call.caller.bytes, call.callee.bytes, configuration.now())
        withStore({ try $0.appendCallRecord(caller: caller, callee: callee, startedAt: answeredAt, endedAt: endedAt) }) { result in
            if case .failure = result { ServerLog.warning("calls: a call record could not be stored") }
        }
    }

    // MARK: Who is where

    private func isInCall(_ member: MemberID) -> Bool {
        calls.values.contains { $0.caller == member || ($0.callee == member && $0.answeredAt != nil) }
    }

    private func offersCalls(_ member: MemberID) -> Bool {
        (sessionsByMember[member] ?? [:]).values.contains { $0.offersCalls }
    }

    private func roomsOf(_ member: MemberID) -> Set<RoomID> {
        Set((sessionsByMember[member] ?? [:]).values.flatMap(\.rooms.keys))
    }
}
