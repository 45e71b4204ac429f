import HavenNet
import HavenProtocol
import HavenStore
import Sodium

/// The other nodes: what this node tells them and hears from them through Redis, and which
/// streams it follows (the rooms and members it has connections in).
extension HavenServer {
    /// Sends a committed message of `stream` to those of `sessions` that follow it live, but
    /// `sender`. With other nodes (`previous` given), one this node has already sent is not sent
    /// again, and if the message before it never came here (pub/sub is at most once, and a
    /// message committed elsewhere may come after one committed here), the sessions read the
    /// stream from the store instead, in order (the sender too: it lacks what came before).
    func deliverInOrder(
        _ delivery: [UInt8], on stream: ReplayStream, at cursor: Int64, after previous: Int64?, to sessions: some Collection<Session>,
        except sender: Session? = nil
    ) {
        let recipients = sessions.lazy.filter { $0 !== sender }
        guard let previous else {
            deliverLive(frames.textFrame(delivery), cursor: cursor, to: recipients, on: stream)
            return
        }
        // A stream nobody here follows keeps no head (it would only grow the table).
        guard !sessions.isEmpty else { return }
        let head = streamHeads[stream]
        if let head, cursor <= head { return }
        streamHeads[stream] = cursor
        if let head, previous > head {
            counters.clusterGapsRead += 1
            catchUp(sessions, on: stream, after: head)
            return
        }
        deliverLive(frames.textFrame(delivery), cursor: cursor, to: recipients.filter { ($0.replayedThrough[stream] ?? 0) < cursor }, on: stream)
    }

    /// Takes in what the bus heard (on the core's loop).
    func heard(_ event: NodeBus.Event) {
        switch event {
        case .message(let message):
            heard(message)
        case .following(.member(let key)):
            // What was committed before the subscription took is read from the store.
            guard let member = try? MemberID(bytes: key), let sessions = sessionsByMember[member] else { return }
            catchUp(sessions.values, on: .direct(member), after: streamHeads[.direct(member)])
        case .following(.room(let key)):
            guard let room = room(key) else { return }
            // Who is there, and what changed while this node did not follow the room.
            bus?.publish(.whoIsThere, key: key)
            reloadLog(of: room)
            catchUp(room.sessions.values, on: .room(room.id), after: streamHeads[.room(room.id)])
        case .following(.nodes):
            tellOtherNodesTheLine()
        case .following(.node):
            return
        case .reached(let count, let then):
            then(self, count)
        case .connected(let again):
            // Back from an outage (even one before the first connection): the others get time to
            // speak again before any is taken for gone.
            if forgetNoNodeUntil == .max { forgetNoNodeUntil = loop.nowMilliseconds + Self.nodeSilenceMilliseconds }
            guard again else { return }
            // What was published while the bus was away is read from the store as each stream's
            // subscription is confirmed again (`following`).
            counters.clusterReconnections += 1
            forgetNoNodeUntil = loop.nowMilliseconds + Self.nodeSilenceMilliseconds
            ServerLog.info("cluster: Redis is reached again; what was missed meanwhile is read from the store")
        case .lost(let reason):
            forgetNoNodeUntil = .max
            ServerLog.warning("cluster: Redis cannot be reached (\(reason)); this node serves its own members alone until it is")
        }
    }

    private func heard(_ message: NodeMessage) {
        let now = loop.nowMilliseconds
        nodesHeard[message.node] = now
        if message.kind == .alive { return }
        if [.callRing, .callSignal, .callRefused, .callEnded].contains(message.kind) {
            heardCall(message)
            return
        }
        if message.kind == .newIdentity {
            guard let member = try? MemberID(bytes: message.key), identitiesFirstSeen[member] == nil else { return }
            identitiesFirstSeen[member] = now
            newIdentityRate.record(now: now)
            return
        }
        if message.kind == .moderated {
            // Checked as the node that stored it checked it: signed by the moderator it names,
            // whose staff proof (or appointment) this node verifies itself: news on Redis is not
            // taken on trust.
            guard let relayed = try? FrameCodec.decodeValue(RelayedModeration.self, from: message.frame),
                  let action = try? FrameCodec.decodeValue(ModerationAction.self, from: relayed.action),
                  action.moderator == relayed.moderator.member, Self.may(currentRole(relayed.moderator), take: action.kind),
                  abs(Int64(action.issuedAt) - configuration.now()) <= Self.actionFreshnessSeconds,
                  (try? action.verify()) != nil else { return }
            carryOut(action, relayed, actor: nil)
            return
        }
        if message.kind == .report {
            if let entry = try? FrameCodec.decodeValue(ReportEntry.self, from: message.frame) { tellStaffHere(entry) }
            return
        }
        if message.kind == .concern {
            if let concern = try? FrameCodec.decodeValue(Concern.self, from: message.frame) { tellCounsellorsHere(concern) }
            return
        }
        if message.kind == .spent {
            guard let spent = try? FrameCodec.decodeValue(BudgetsSpent.self, from: message.frame) else { return }
            let sensible = { (amount: Double) in amount.isFinite && amount > 0 && amount <= 1e12 }
            for spending in spent.spent where sensible(spending.amount) {
                identities.spentElsewhere(spending.amount, of: spending.budget, by: spending.member, isNew: isNewIdentity(spending.member), now: now)
            }
            for spending in spent.addresses where sensible(spending.amount) && spending.address.count == 16 {
                addresses.spentElsewhere(spending.amount, of: spending.budget, by: spending.address, now: now)
            }
            counters.clusterBudgetSpendingsHeard += spent.spent.count
            counters.clusterAddressSpendingsHeard += spent.addresses.count
            return
        }
        if [.line, .take, .taken, .takeRefused].contains(message.kind) {
            heardLine(message, now: now)
            return
        }
        if message.kind == .direct {
            guard let recipient = try? MemberID(bytes: message.key) else { return }
            counters.clusterDeliveriesHeard += 1
            let recipients = sessionsByMember[recipient]?.values.map { $0 } ?? []
            deliverInOrder(message.frame, on: .direct(recipient), at: message.cursor, after: message.previous, to: recipients)
            return
        }
        guard let room = room(message.key) else { return }
        switch message.kind {
        case .direct, .alive, .callRing, .callSignal, .callRefused, .callEnded, .line, .take, .taken, .takeRefused, .spent, .newIdentity, .moderated, .report, .concern:
            return
        case .roomMessage:
            counters.clusterDeliveriesHeard += 1
            deliverInOrder(message.frame, on: .room(room.id), at: message.cursor, after: message.previous, to: room.sessions.values)
        case .logEntry:
            guard let entry = try? FrameCodec.decodeValue(RoomLogEntry.self, from: message.frame) else { return }
            let length = room.log.length
            // The next entry is taken as this node's own would be. One this node's log already
            // reaches is committed all the same (it was published after its commit): an entry of
            // this node's lost the race for its place and was never sent, so the members here
            // get the winner's. One after a gap has the log read again from the store, and the
            // members here get what they missed, in order.
            if entry.seq > length {
                reloadLog(of: room) { [unowned self] stored in
                    let missed = stored.filter { bytes in (try? FrameCodec.decodeValue(RoomLogEntry.self, from: bytes)).map { $0.seq >= length } ?? false }
                    for session in room.sessions.values { sendLogEntries(missed, more: false, room: room.id, to: session) }
                }
                return
            }
            if entry.seq == length, (try? room.take(entry, now: now)) == nil { reloadLog(of: room) }
            broadcast(encode(.logEntry(LogEntryFrame(entry: entry))), to: room.sessions.values)
        case .keyBundle:
            guard let bundle = try? FrameCodec.decodeValue(EpochKeyBundle.self, from: message.frame), bundle.epoch == room.epoch else { return }
            room.take(bundle)
            broadcast(encode(.keyBundle(KeyBundleFrame(bundle: bundle))), to: room.sessions.values)
        case .arrived:
            // A role another node claims for a member is shown only as this node verifies it.
            guard let member = (try? FrameCodec.decodeValue(MemberInfo.self, from: message.frame)).map(currentRole),
                  room.elsewhere.arrive(member, on: message.node, now: now), !room.isHere(member.member) else { return }
            tellArrived(member, in: room)
        case .departed:
            guard let member = try? MemberID(bytes: message.frame), room.elsewhere.depart(member, on: message.node, now: now),
                  !room.isHere(member) else { return }
            broadcast(encode(.memberLeft(MemberLeft(room: room.id, member: member))), to: room.sessions.values)
        case .present:
            guard let members = (try? FrameCodec.decodeValue([MemberInfo].self, from: message.frame))?.map(currentRole) else { return }
            let (arrived, departed) = room.elsewhere.present(members, on: message.node, now: now)
            for member in arrived where !room.isHere(member.member) { tellArrived(member, in: room) }
            for member in departed where !room.isHere(member) {
                broadcast(encode(.memberLeft(MemberLeft(room: room.id, member: member))), to: room.sessions.values)
            }
        case .whoIsThere:
            sayWhoIsHere(in: room)
        }
    }

    /// The waiting line across nodes: another node's line, a take for a member waiting here, and
    /// the answer to a take made here.
    private func heardLine(_ message: NodeMessage, now: UInt64) {
        switch message.kind {
        case .line:
            guard let summary = try? FrameCodec.decodeValue(NodeSummary.self, from: message.frame) else { return }
            let changed = linesElsewhere.set(summary, on: message.node, now: now)
            if changed.line { lineChanged() }
            if changed.counsellors { counsellorsOnlineChanged() }
        case .take:
            guard let take = try? FrameCodec.decodeValue(RelayedTake.self, from: message.frame) else { return }
            // Only a counsellor whose proof this node verifies itself may take a member.
            let verified = currentRole(take.counsellor).staff?.invite.role == .counsellor
            if verified, let taken = takeHere(take.member, by: take.counsellor) {
                bus?.publish(.taken, key: take.counsellor.member.bytes, frame: FrameCodec.encodeValue(taken))
            } else {
                bus?.publish(.takeRefused, key: take.counsellor.member.bytes, frame: take.member.bytes)
            }
        case .taken:
            guard let taken = try? FrameCodec.decodeValue(QueueTaken.self, from: message.frame) else { return }
            pendingTakes[taken.member] = nil
            for session in (sessionsByMember[taken.counsellor.member] ?? [:]).values { send(.queueTaken(taken), to: session) }
        case .takeRefused:
            guard let member = try? MemberID(bytes: message.frame), let connection = pendingTakes.removeValue(forKey: member),
                  let session = sessions[connection] else { return }
            refuse(session, code: "no_longer_waiting", message: "another counsellor is already with them, or they stopped waiting")
        default:
            return
        }
    }

    /// How many members are in `room`: exactly, for a room this node follows (it hears who comes
    /// and goes); else those here and what the other nodes last said (within a few seconds).
    func online(in room: LiveRoom) -> Int {
        room.sessions.isEmpty && bus != nil ? linesElsewhere.members(in: room.id) : room.onlineMembers.count
    }

    private func room(_ key: [UInt8]) -> LiveRoom? {
        (try? RoomID(String(decoding: key, as: UTF8.self))).flatMap { rooms[$0] }
    }

    private func tellArrived(_ member: MemberInfo, in room: LiveRoom) {
        let event = encode(.memberJoined(MemberJoined(room: room.id, member: member, holdsKey: room.keyHolders.contains(member.member))))
        broadcast(event, to: room.sessions.values)
    }

    /// Tells the other nodes who is in `room` here.
    private func sayWhoIsHere(in room: LiveRoom) {
        let here = room.onlineMembers.filter { room.isHere($0.member) }
        bus?.publish(.present, key: Array(room.id.value.utf8), frame: FrameCodec.encodeValue(here))
    }

    /// Every few seconds: says this node is alive and who is in each followed room here, and
    /// forgets nodes that said nothing for a while (a node killed says nothing more), telling
    /// members who left with them. A node gone may have committed messages it never published:
    /// every stream followed here is read from the store after what was sent.
    func clusterTick() {
        guard let bus else { return }
        let now = loop.nowMilliseconds
        // Budgets every second: an identity spending on several nodes spends one budget.
        let spent = identities.journal.drain().flatMap { member, budgets in
            budgets.map { BudgetsSpent.Spending(member: member, budget: $0.key, amount: $0.value) }
        }
        let byAddress = addresses.journal.drain().flatMap { address, budgets in
            budgets.map { BudgetsSpent.AddressSpending(address: address, budget: $0.key, amount: $0.value) }
        }
        if !spent.isEmpty || !byAddress.isEmpty {
            bus.publish(.spent, key: [], frame: FrameCodec.encodeValue(BudgetsSpent(spent: spent, addresses: byAddress)))
        }
        // Every node keys addresses with the day's key they agreed on, so they count them alike.
        addresses.rollOver(wallClockSeconds: UInt64(configuration.now()))
        if addressKeyAskedFor != addresses.day || !addresses.keyIsShared && now &- addressKeyAskedAt >= Self.addressKeyRetryMilliseconds {
            addressKeyAskedFor = addresses.day
            addressKeyAskedAt = now
            agreeOnAddressKey(day: addresses.day)
        }
        guard now &- lastPresenceSaid >= Self.presenceEveryMilliseconds else { return }
        lastPresenceSaid = now
        bus.publish(.alive, key: [])
        tellOtherNodesTheLine()
        // While Redis is away every node is silent: none is forgotten (counsellors online,
        // members present), until the others have had time to speak again once it is back.
        let cutoff = now < forgetNoNodeUntil ? 0 : now > Self.nodeSilenceMilliseconds ? now - Self.nodeSilenceMilliseconds : 0
        let silent = nodesHeard.filter { $0.value < cutoff }
        if !silent.isEmpty {
            counters.clusterNodesLost += silent.count
            nodesHeard = nodesHeard.filter { $0.value >= cutoff }
            readEveryStreamAgain()
        }
        let forgotten = linesElsewhere.forgetNodes(silentSince: cutoff)
        if forgotten.line { lineChanged() }
        if forgotten.counsellors { counsellorsOnlineChanged() }
        for room in rooms.values where !room.sessions.isEmpty {
            sayWhoIsHere(in: room)
            for member in room.elsewhere.forgetNodes(silentSince: cutoff) where !room.isHere(member) {
                broadcast(encode(.memberLeft(MemberLeft(room: room.id, member: member))), to: room.sessions.values)
            }
        }
    }

    /// Agrees with the other nodes, through the database they share, on the key that turns
    /// visitors' addresses into keyed hashes for `day`: the first node to ask stores it, the
    /// others read it. It never goes through Redis, where the hashes do: whoever reads Redis
    /// cannot test addresses against them. Until it is agreed this node keys addresses alone
    /// (and asks again every ten seconds).
    private func agreeOnAddressKey(day: UInt64) {
        guard let candidate = try? SecretBytes.random(count: 32).copyBytes() else { return }
        withStore({ database in try database.agreeOnAddressKey(day: Int64(day), candidate: candidate) }) { [unowned self] result in
            guard case .success(let key) = result else { return }
            addresses.adoptSharedKey(key, day: day)
        }
    }

    /// How often a node that could not agree on the day's address key asks again.
    static let addressKeyRetryMilliseconds: UInt64 = 10_000

    /// Has every connection here read each stream it follows from the store after what this node
    /// sent it.
    private func readEveryStreamAgain() {
        for room in rooms.values { catchUp(room.sessions.values, on: .room(room.id), after: streamHeads[.room(room.id)]) }
        for (member, sessions) in sessionsByMember { catchUp(sessions.values, on: .direct(member), after: streamHeads[.direct(member)]) }
    }

    /// How often a node says it is alive and who is in its rooms.
    static let presenceEveryMilliseconds: UInt64 = 5_000
    /// How long a node may say nothing before its members are taken to have gone.
    static let nodeSilenceMilliseconds: UInt64 = 16_000

    /// `member`'s first connection here logged in: this node hears their private messages
    /// committed by the others.
    func firstConnectionHere(of member: MemberID) {
        bus?.follow(.member(member.bytes))
    }

    /// `member`'s last connection here closed.
    func lastConnectionHereClosed(of member: MemberID) {
        bus?.unfollow(.member(member.bytes))
        streamHeads[.direct(member)] = nil
    }

    /// The first connection here came into `room`: this node hears what the others do in it.
    func firstConnectionHere(in room: LiveRoom) {
        bus?.follow(.room(Array(room.id.value.utf8)))
    }

    /// The last connection here left `room`.
    func lastConnectionHereLeft(_ room: LiveRoom) {
        guard bus != nil else { return }
        bus?.unfollow(.room(Array(room.id.value.utf8)))
        streamHeads[.room(room.id)] = nil
        room.elsewhere.removeAll()
    }

    /// Has those of `sessions` that follow `stream` live read it from the store after `cursor`
    /// (quietly: no `synced`), then follow it live again; those catching up read one more page
    /// before they go live (theirs may have been read before what was missed was heard of).
    /// Without `cursor` (nothing was sent here yet), only those catching up are concerned.
    func catchUp(_ sessions: some Sequence<Session>, on stream: ReplayStream, after cursor: Int64?) {
        for session in sessions {
            guard case .live? = session.subscription(for: stream), let cursor else {
                if session.subscription(for: stream)?.replay != nil { session.mustReadAgain.insert(stream) }
                continue
            }
            _ = beginCatchingUp(session, stream: stream, announced: false)
            replay(session, stream: stream, after: cursor)
        }
    }

    /// Whether another node's message past `last` was heard while `session`'s replay of `stream`
    /// read its page (from a snapshot the message was not in yet): then the replay reads one more
    /// page before it goes live, once for each newest cursor heard (a message deleted since
    /// would otherwise keep it reading).
    func heardPast(_ last: Int64, of stream: ReplayStream, by session: Session) -> Bool {
        guard bus != nil else { return false }
        if session.mustReadAgain.remove(stream) != nil { return true }
        guard let head = streamHeads[stream], head > last, session.rereadFor[stream] != head else { return false }
        session.rereadFor[stream] = head
        return true
    }

    /// A replay of `stream` reached its end at `cursor`: this node has sent everything up to it.
    func replayEnded(_ session: Session, stream: ReplayStream, at cursor: Int64) {
        session.replayedThrough[stream] = cursor
        guard bus != nil else { return }
        streamHeads[stream] = max(streamHeads[stream] ?? 0, cursor)
    }
}

extension HavenServer {
    /// With other nodes, every room reload reads the sanctions in force from the store: one whose
    /// news Redis lost (or brought out of order) holds here within seconds all the same; a member
    /// banned meanwhile is let go.
    func reconcileSanctions() {
        guard bus != nil else { return }
        let now = configuration.now()
        withStore({ try $0.activeSanctions(now: now) }) { [unowned self] result in
            guard case .success(let records) = result else { return }
            sanctions = Sanctions(records)
            for (member, connections) in sessionsByMember where sanctions.isBanned(member) {
                for session in connections.values { session.connection.close(.policyViolation, reason: "banned") }
            }
        }
    }
}
