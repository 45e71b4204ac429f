import HavenNet
import HavenProtocol

extension HavenServer {
    /// Whether `member` (as the server lets them act now) is a counsellor.
    func isCounsellor(_ member: MemberInfo) -> Bool { member.staff?.invite.role == .counsellor }

    /// A member asks to talk to a counsellor: they join the line (or keep their place), and are
    /// told their place; counsellors see the line.
    func askCounsellor(session: Session, member: MemberInfo) {
        guard member.staff == nil else {
            refuse(session, code: "already_staff", message: "staff take members from the line; they do not wait in it")
            return
        }
        guard allowQueueChange(session) else { return }
        do {
            try waitingLine.add(
                member.member, displayName: member.displayName, addressKey: session.addressKey,
                perAddress: configuration.rateLimits.addressPlacesInLine, now: UInt64(configuration.now()))
        } catch .full {
            refuse(session, code: "queue_full", message: "many people are waiting right now; please try again in a few minutes")
            return
        } catch {
            refuse(session, code: "queue_full", message: "many people on this network are waiting already; please try again in a few minutes")
            return
        }
        queueChanged()
    }

    /// A member stops waiting.
    func leaveQueue(session: Session, member: MemberInfo) {
        guard allowQueueChange(session) else { return }
        guard waitingLine.remove(member.member) != nil else { return }
        queueChanged()
        sendAvailability(to: session)
    }

    /// A counsellor takes a waiting member: the first to ask gets them, and both are told (the
    /// member with the counsellor's staff proof, which their device checks).
    func takeFromQueue(_ take: QueueTake, session: Session, member: MemberInfo) {
        guard isCounsellor(member) else {
            refuse(session, code: "not_a_counsellor", message: "only counsellors take members from the line")
            return
        }
        if waitingLine.position(of: take.member) == nil, let node = linesElsewhere.node(holding: take.member), let bus {
            // The member waits through another node, which has the last word.
            pendingTakes[take.member] = session.connection.id
            bus.publish(.take, key: node, frame: FrameCodec.encodeValue(RelayedTake(member: take.member, counsellor: member)))
            return
        }
        guard let taken = takeHere(take.member, by: member) else {
            refuse(session, code: "no_longer_waiting", message: "another counsellor is already with them, or they stopped waiting")
            return
        }
        for other in (sessionsByMember[member.member] ?? [:]).values { send(.queueTaken(taken), to: other) }
    }

    /// Takes `member` from this node's line for `counsellor`; the member's connections are told
    /// and may be called by them. Nil when the member no longer waits here.
    func takeHere(_ member: MemberID, by counsellor: MemberInfo) -> QueueTaken? {
        guard let waiting = waitingLine.remove(member) else { return nil }
        let taken = QueueTaken(member: waiting.member, displayName: waiting.displayName, counsellor: counsellor)
        let frame = encode(.queueTaken(taken))
        for other in (sessionsByMember[waiting.member] ?? [:]).values { other.connection.send(frame: frame) }
        queueChanged()
        for other in (sessionsByMember[waiting.member] ?? [:]).values {
            other.takenBy.insert(counsellor.member)
            sendAvailability(to: other)
        }
        return taken
    }

    /// A member logged in: counsellors are counted (everyone hears when the count changes), a
    /// waiting member is connected again, and each learns where things stand.
    func queueLoggedIn(_ session: Session, member: MemberInfo) {
        if waitingLine.setConnected(member.member, true, now: loop.nowMilliseconds) { queueChanged() }
        if isCounsellor(member), counsellorsOnline.insert(member.member).inserted { counsellorsChanged() }
        sendAvailability(to: session)
        if isCounsellor(member) { send(.counsellorQueue(CounsellorQueue(entries: line)), to: session) }
    }

    /// A member's last connection closed: a counsellor is no longer counted, a waiting member
    /// keeps their place for a while (``ServerConfiguration/waitingGraceMilliseconds``).
    func queueLoggedOut(_ member: MemberID) {
        if waitingLine.setConnected(member, false, now: loop.nowMilliseconds) { queueChanged() }
        if counsellorsOnline.remove(member) != nil { counsellorsChanged() }
    }

    /// Re-counts a member whose role changed (an invite redeemed, a certificate lapsed).
    func roleChanged(_ member: MemberInfo, session: Session) {
        if member.staff != nil, waitingLine.remove(member.member) != nil { queueChanged() }
        let counsellor = isCounsellor(member)
        let counted = counsellorsOnline.contains(member.member)
        guard counsellor != counted else { return }
        if counsellor {
            counsellorsOnline.insert(member.member)
            send(.counsellorQueue(CounsellorQueue(entries: line)), to: session)
        } else {
            counsellorsOnline.remove(member.member)
        }
        counsellorsChanged()
    }

    /// Drops waiting members whose connection stayed down past the grace period.
    func sweepWaitingLine() {
        if waitingLine.dropAbandoned(now: loop.nowMilliseconds, grace: configuration.waitingGraceMilliseconds) { queueChanged() }
    }

    /// The numbers a widget shows before its member starts (served as /v1/availability): with
    /// other nodes, theirs too.
    var availability: Availability {
        Availability(counsellorsOnline: counsellorsOnline.union(linesElsewhere.counsellors).count, waiting: line.count)
    }

    /// Everyone waiting, here and through other nodes, oldest first.
    var line: [QueueEntry] {
        bus == nil ? waitingLine.entries : LinesElsewhere.merged(waitingLine.entries, linesElsewhere.entries)
    }

    private func allowQueueChange(_ session: Session) -> Bool {
        guard session.budgets?.take(.queueChange, now: loop.nowMilliseconds) ?? false else {
            counters.rateLimited += 1
            refuse(session, code: "rate_limited", message: "please wait a little before changing your place in the line again")
            return false
        }
        return true
    }

    /// The line changed here: the other nodes are told, and the members here (``lineChanged()``).
    private func queueChanged() {
        tellOtherNodesTheLine()
        lineChanged()
    }

    /// The line changed: counsellors get it whole, waiting members their place.
    func lineChanged() {
        let frame = encode(.counsellorQueue(CounsellorQueue(entries: line)))
        broadcast(frame, to: counsellorsOnline.flatMap { (sessionsByMember[$0] ?? [:]).values })
        for waiting in waitingLine.waiting {
            for session in (sessionsByMember[waiting.member] ?? [:]).values { sendAvailability(to: session) }
        }
    }

    /// The counsellors online here changed: the other nodes are told, and the members here.
    private func counsellorsChanged() {
        tellOtherNodesTheLine()
        counsellorsOnlineChanged()
    }

    /// This node's line and counsellors, for the other nodes.
    func tellOtherNodesTheLine() {
        guard let bus else { return }
        let here = Dictionary(uniqueKeysWithValues: rooms.values.compactMap { room in
            let count = room.onlineMembers.count { room.isHere($0.member) }
            return count > 0 ? (room.id.value, count) : nil
        })
        let summary = NodeSummary(entries: waitingLine.entries, counsellors: Array(counsellorsOnline), here: here)
        bus.publish(.line, key: [], frame: FrameCodec.encodeValue(summary))
    }

    /// The number of counsellors online changed: everyone logged in hears it.
    func counsellorsOnlineChanged() {
        let frame = encode(.availability(availability))
        for session in sessions.values {
            guard let member = session.member?.member else { continue }
            if waitingLine.position(of: member) != nil { sendAvailability(to: session) } else { session.connection.send(frame: frame) }
        }
    }

    private func sendAvailability(to session: Session) {
        var numbers = availability
        numbers.position = session.member.flatMap { member in line.firstIndex { $0.member == member.member }.map { $0 + 1 } }
        send(.availability(numbers), to: session)
    }
}
