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
        guard let waiting = waitingLine.remove(take.member) else {
            refuse(session, code: "no_longer_waiting", message: "another counsellor is already with them, or they stopped waiting")
            return
        }
        let frame = encode(.queueTaken(QueueTaken(member: waiting.member, displayName: waiting.displayName, counsellor: member)))
        for recipient in [waiting.member, member.member] {
            for other in (sessionsByMember[recipient] ?? [:]).values { other.connection.send(frame: frame) }
        }
        queueChanged()
        for other in (sessionsByMember[waiting.member] ?? [:]).values {
            other.takenBy.insert(member.member)
            sendAvailability(to: other)
        }
    }

    /// A member logged in: counsellors are counted (everyone hears when the count changes), a
    /// waiting member is connected again, and each learns where things stand.
    func queueLoggedIn(_ session: Session, member: MemberInfo) {
        if waitingLine.setConnected(member.member, true, now: loop.nowMilliseconds) { queueChanged() }
        if isCounsellor(member), counsellorsOnline.insert(member.member).inserted { counsellorsChanged() }
        sendAvailability(to: session)
        if isCounsellor(member) { send(.counsellorQueue(CounsellorQueue(entries: waitingLine.entries)), to: session) }
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
            send(.counsellorQueue(CounsellorQueue(entries: waitingLine.entries)), to: session)
        } else {
            counsellorsOnline.remove(member.member)
        }
        counsellorsChanged()
    }

    /// Drops waiting members whose connection stayed down past the grace period.
    func sweepWaitingLine() {
        if waitingLine.dropAbandoned(now: loop.nowMilliseconds, grace: configuration.waitingGraceMilliseconds) { queueChanged() }
    }

    /// The numbers a widget shows before its member starts (served as /v1/availability).
    var availability: Availability {
        Availability(counsellorsOnline: counsellorsOnline.count, waiting: waitingLine.waiting.count)
    }

    private func allowQueueChange(_ session: Session) -> Bool {
        guard session.budgets?.take(.queueChange, now: loop.nowMilliseconds) ?? false else {
            counters.rateLimited += 1
            refuse(session, code: "rate_limited", message: "please wait a little before changing your place in the line again")
            return false
        }
        return true
    }

    /// The line changed: counsellors get it whole, waiting members their place.
    private func queueChanged() {
        let frame = encode(.counsellorQueue(CounsellorQueue(entries: waitingLine.entries)))
        broadcast(frame, to: counsellorsOnline.flatMap { (sessionsByMember[$0] ?? [:]).values })
        for waiting in waitingLine.waiting {
            for session in (sessionsByMember[waiting.member] ?? [:]).values { sendAvailability(to: session) }
        }
    }

    /// The number of counsellors online changed: everyone logged in hears it.
    private func counsellorsChanged() {
        let frame = encode(.availability(availability))
        for session in sessions.values {
            guard let member = session.member?.member else { continue }
            if waitingLine.position(of: member) != nil { sendAvailability(to: session) } else { session.connection.send(frame: frame) }
        }
    }

    private func sendAvailability(to session: Session) {
        var numbers = availability
        numbers.position = session.member.flatMap { waitingLine.position(of: $0.member) }
        send(.availability(numbers), to: session)
    }
}
