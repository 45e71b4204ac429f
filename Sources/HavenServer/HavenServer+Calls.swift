import HavenNet
import HavenProtocol
import HavenStore

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
        let frame = encode(.callAvailability(CallAvailability(member: member.member, offersCalls: offersNow)))
        var recipients: [Int: Session] = [:]
        for room in roomsOf(member.member) { recipients.merge(rooms[room]?.sessions ?? [:]) { $1 } }
        broadcast(frame, to: recipients.values)
    }

    /// Ends every call of `member` (a suspension or a ban), telling both parties.
    func endCalls(of member: MemberID, reason: String) {
        carryOut(callRules.endCalls(of: member, reason: reason))
    }

    /// Ends the calls a closing connection was part of, telling the other party.
    func endCalls(ofClosed connection: Int, member: MemberID) {
        carryOut(callRules.endCalls(ofClosed: connection, member: member, stillOnline: sessionsByMember[member]?.isEmpty == false))
    }

    /// Stops calls that rang too long, and forgets expired decline cooldowns.
    func expireRinging() {
        carryOut(callRules.expire(now: loop.nowMilliseconds, wallClock: configuration.now()))
    }

    // MARK: Ringing

    private func ring(_ frame: CallFrame, from session: Session, member: MemberInfo) {
        let callee = frame.message.recipient
        if bus != nil, sessionsByMember[callee] == nil {
            ringElsewhere(frame, from: session, member: member)
            return
        }
        let facts = ringFacts(caller: member, callee: callee)
        if let (code, message) = callRules.refusalToRing(frame.call, caller: member.member, callee: callee, facts: facts, wallClock: configuration.now())
            ?? takeRingToken(session) {
            refuse(session, code: code, message: message, call: frame.call)
            return
        }
        counters.callsRung += 1
        carryOut(callRules.ring(frame.call, caller: member.member, callee: callee, callerConnection: session.connection.id, now: loop.nowMilliseconds),
                 signal: frame)
    }

    /// A ring for a callee with no connection here: this node checks the caller's side and
    /// passes the ring on to the callee's node, which checks the rest and rings or refuses. When
    /// no node has the callee, they are unavailable at once.
    private func ringElsewhere(_ frame: CallFrame, from session: Session, member: MemberInfo) {
        let callee = frame.message.recipient
        let suspended = sanctions.isSuspended(member.member, now: configuration.now())
        if let (code, message) = callRules.refusalToRingElsewhere(frame.call, caller: member.member, callerSuspended: suspended)
            ?? takeRingToken(session) {
            refuse(session, code: code, message: message, call: frame.call)
            return
        }
        counters.callsRung += 1
        callRules.ringElsewhere(frame.call, caller: member.member, callee: callee, callerConnection: session.connection.id, now: loop.nowMilliseconds)
        let ring = RelayedRing(
            frame: frame, caller: member.member, callerIsCounsellor: member.staff?.invite.role == .counsellor, callerSuspended: suspended,
            callerRooms: Array(roomsOf(member.member)))
        let call = frame.call
        ringsElsewhere[call] = RingsElsewhere()
        bus?.publish(.callRing, key: callee.bytes, frame: FrameCodec.encodeValue(ring)) { server, reached in
            server.ringReached(call, nodes: reached ?? 0)
        }
    }

    /// How many nodes a ring for a callee elsewhere reached, and their refusals so far: the
    /// caller is refused only when every node that holds the callee refused (or none does).
    struct RingsElsewhere {
        var reached: Int?
        var refusals: [RelayedRefusal] = []

        var allRefused: Bool { reached.map { refusals.count >= $0 } ?? false }
    }

    /// Redis says how many nodes the ring reached.
    private func ringReached(_ call: WireBytes, nodes: Int) {
        ringsElsewhere[call]?.reached = nodes
        guard nodes == 0 else { return refuseIfAllRefused(call) }
        ringsElsewhere[call]?.refusals.append(RelayedRefusal(call: call, code: "callee_unavailable", message: "this member cannot take a call now"))
        refuseIfAllRefused(call)
    }

    /// Takes in a call message from another node for a member here.
    func heardCall(_ message: NodeMessage) {
        guard let member = try? MemberID(bytes: message.key) else { return }
        switch message.kind {
        case .callRing:
            guard let ring = try? FrameCodec.decodeValue(RelayedRing.self, from: message.frame), sessionsByMember[member] != nil else { return }
            ringHere(ring, callee: member)
        case .callSignal:
            guard let relayed = try? FrameCodec.decodeValue(RelayedCallSignal.self, from: message.frame) else { return }
            let actions = callRules.signal(
                relayed.frame.signal, call: relayed.frame.call, from: relayed.from, connection: CallRules.elsewhere, to: member,
                wallClock: configuration.now())
            if relayed.frame.signal == .accept, case .forward? = actions.last {
                counters.callsAnswered += 1
                ringsElsewhere[relayed.frame.call] = nil
            }
            carryOut(actions, signal: relayed.frame)
        case .callRefused:
            guard let refusal = try? FrameCodec.decodeValue(RelayedRefusal.self, from: message.frame) else { return }
            ringsElsewhere[refusal.call]?.refusals.append(refusal)
            refuseIfAllRefused(refusal.call)
        case .callEnded:
            guard let ended = try? FrameCodec.decodeValue(RelayedCallEnd.self, from: message.frame) else { return }
            // "Answered elsewhere" is for the callee's other devices: the caller's side goes on.
            if ended.reason == "answered_elsewhere", let call = callRules[ended.call], call.callerConnection != CallRules.elsewhere { return }
            carryOut(callRules.endedElsewhere(ended.call, reason: ended.reason), toldFromElsewhere: true)
        default:
            return
        }
    }

    /// Every node holding the callee would not ring (or none holds them): the caller is told,
    /// with the first node's reason.
    private func refuseIfAllRefused(_ id: WireBytes) {
        guard let rings = ringsElsewhere[id], rings.allRefused, let refusal = rings.refusals.first else { return }
        ringsElsewhere[id] = nil
        guard callRules[id]?.answeredAt == nil, let call = callRules.cancel(id), let session = sessions[call.callerConnection] else { return }
        refuse(session, code: refusal.code, message: refusal.message, call: id)
    }

    /// A ring from a caller on another node, for `callee` here: checked as a ring from here is
    /// (with what the caller's node told of the caller), then rung, or refused back.
    private func ringHere(_ ring: RelayedRing, callee: MemberID) {
        var facts = ringFacts(callee: callee)
        facts.callerIsCounsellor = ring.callerIsCounsellor
        facts.callerSuspended = ring.callerSuspended
        facts.calleeKnowsCaller = knows(callee, ring.caller, callerRooms: Set(ring.callerRooms))
        if let (code, message) = callRules.refusalToRing(ring.frame.call, caller: ring.caller, callee: callee, facts: facts, wallClock: configuration.now()) {
            let refusal = RelayedRefusal(call: ring.frame.call, code: code, message: message)
            bus?.publish(.callRefused, key: ring.caller.bytes, frame: FrameCodec.encodeValue(refusal))
            return
        }
        carryOut(callRules.ring(ring.frame.call, caller: ring.caller, callee: callee, callerConnection: CallRules.elsewhere, now: loop.nowMilliseconds),
                 signal: ring.frame)
    }

    /// What the call rules need to know about the two parties, from sessions and sanctions.
    private func ringFacts(caller: MemberInfo, callee: MemberID) -> CallRules.RingFacts {
        var facts = ringFacts(callee: callee)
        facts.callerIsCounsellor = caller.staff?.invite.role == .counsellor
        facts.callerSuspended = sanctions.isSuspended(caller.member, now: configuration.now())
        facts.calleeKnowsCaller = knows(callee, caller.member, callerRooms: roomsOf(caller.member))
        return facts
    }

    /// What the call rules need to know about the callee, from their connections here and sanctions.
    private func ringFacts(callee: MemberID) -> CallRules.RingFacts {
        let now = configuration.now()
        let calleeSessions = (sessionsByMember[callee] ?? [:]).values
        return CallRules.RingFacts(
            calleeOnline: !calleeSessions.isEmpty,
            calleeSanctioned: sanctions.isSuspended(callee, now: now) || sanctions.isBanned(callee),
            calleeTakesCalls: calleeSessions.allSatisfy { $0.acceptsCalls || $0.offersCalls },
            calleeOffersCalls: offersCalls(callee))
    }

    /// Whether `callee` wrote to `caller`, was taken by them from the waiting line, or shares a
    /// room with them.
    private func knows(_ callee: MemberID, _ caller: MemberID, callerRooms: Set<RoomID>) -> Bool {
        hasWritten(callee, to: caller) || (sessionsByMember[callee] ?? [:]).values.contains { $0.takenBy.contains(caller) }
            || !callerRooms.isDisjoint(with: roomsOf(callee))
    }

    /// Rings are counted per identity, whatever connections it rings from, and (for members; staff
    /// share their organisation's network) per client address, whatever identities ring from it.
    /// Nil when the ring is allowed; otherwise which limit refused it (each is told in its own
    /// words: the network's limit is not the caller's doing).
    private func takeRingToken(_ session: Session) -> (code: String, message: String)? {
        guard let caller = session.member else { return ("not_authenticated", "log in first") }
        let now = loop.nowMilliseconds
        guard identities.hasRing(caller.member, now: now) else { return ("ring_rate_limited", "too many calls started; wait a minute") }
        guard caller.staff != nil || addresses.allowRing(session.addressKey, now: now) else {
            return ("address_ring_rate_limited", "many calls are being made from this network just now; try again in a minute")
        }
        identities.takeRing(caller.member, now: now)
        return nil
    }

    // MARK: After the ring

    private func continueCall(_ frame: CallFrame, from session: Session, member: MemberInfo) {
        let answeredBefore = callRules[frame.call]?.answeredAt != nil
        let actions = callRules.signal(frame.signal, call: frame.call, from: member.member, connection: session.connection.id,
                                       to: frame.message.recipient, wallClock: configuration.now())
        if !answeredBefore, callRules[frame.call]?.answeredAt != nil { counters.callsAnswered += 1 }
        carryOut(actions, signal: frame, refusing: session)
    }

    /// Carries out what the call rules asked: `signal` is the step forwarded, and `session` the
    /// one a refusal goes to. A party on another node is sent steps and endings through the bus
    /// (but not an ending that came from there: `toldFromElsewhere`).
    private func carryOut(_ actions: [CallRules.Action], signal: CallFrame? = nil, refusing session: Session? = nil, toldFromElsewhere: Bool = false) {
        for action in actions {
            switch action {
            case .refuse(let code, let message):
                if let session { refuse(session, code: code, message: message, call: signal?.call) }
            case .forward(let call, let member):
                guard let signal else { continue }
                if isElsewhere(member, in: call) {
                    let relayed = RelayedCallSignal(frame: signal, from: call.peer(of: member))
                    bus?.publish(.callSignal, key: member.bytes, frame: FrameCodec.encodeValue(relayed))
                    continue
                }
                let bytes = encode(.callSignal(signal))
                for session in connections(of: member, in: call) { session.connection.send(frame: bytes) }
            case .tellOtherDevices(let call, let connection, let reason):
                // The callee's devices on other nodes ring too: they are told there.
                if call.callerConnection == CallRules.elsewhere, !toldFromElsewhere {
                    bus?.publish(.callEnded, key: call.callee.bytes, frame: FrameCodec.encodeValue(RelayedCallEnd(call: call.id, reason: reason)))
                }
                let bytes = encode(.callEnded(CallEnded(call: call.id, reason: reason)))
                for other in (sessionsByMember[call.callee] ?? [:]).values where other.connection.id != connection { other.connection.send(frame: bytes) }
            case .end(let call, let reason):
                let bytes = encode(.callEnded(CallEnded(call: call.id, reason: reason)))
                for member in [call.caller, call.callee] {
                    if isElsewhere(member, in: call) {
                        guard !toldFromElsewhere else { continue }
                        bus?.publish(.callEnded, key: member.bytes, frame: FrameCodec.encodeValue(RelayedCallEnd(call: call.id, reason: reason)))
                        continue
                    }
                    for session in connections(of: member, in: call) { session.connection.send(frame: bytes) }
                }
            case .finished(let call):
                ringsElsewhere[call.id] = nil
                record(call)
            }
        }
    }

    /// Whether `member`'s side of `call` is on another node.
    private func isElsewhere(_ member: MemberID, in call: ActiveCall) -> Bool {
        member == call.caller ? call.callerConnection == CallRules.elsewhere
            : call.calleeConnection == CallRules.elsewhere || (call.calleeConnection == nil && call.callerConnection != CallRules.elsewhere
                && sessionsByMember[member] == nil)
    }

    private func connections(of member: MemberID, in call: ActiveCall) -> [Session] {
        (sessionsByMember[member] ?? [:]).values.filter { call.involves(connection: $0.connection.id, member: member) }
    }

    /// With call auditing on, records that an answered call happened.
    private func record(_ call: ActiveCall) {
        guard configuration.calls.audit, let answeredAt = call.answeredAt else { return }
        let (caller, callee, endedAt) = (call.caller.bytes, call.callee.bytes, configuration.now())
        withStore({ try $0.appendCallRecord(caller: caller, callee: callee, startedAt: answeredAt, endedAt: endedAt) }) { result in
            if case .failure = result { ServerLog.warning("calls: a call record could not be stored") }
        }
    }

    // MARK: Who is where

    private func offersCalls(_ member: MemberID) -> Bool {
        (sessionsByMember[member] ?? [:]).values.contains { $0.offersCalls }
    }

    private func roomsOf(_ member: MemberID) -> Set<RoomID> {
        Set((sessionsByMember[member] ?? [:]).values.flatMap(\.rooms.keys))
    }
}
