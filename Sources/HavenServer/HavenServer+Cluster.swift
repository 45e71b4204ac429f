import HavenProtocol

/// The other nodes: what this node hears from them through Redis, and which streams it follows.
extension HavenServer {
    /// Takes in what the bus heard (on the core's loop).
    func heard(_ event: NodeBus.Event) {
        switch event {
        case .message(let message):
            counters.clusterDeliveriesHeard += 1
            switch message.kind {
            case .direct:
                guard let recipient = try? MemberID(bytes: message.key) else { return }
                deliverDirect(message.frame, to: recipient, at: message.cursor, after: message.previous)
            }
        case .following(.direct, let key):
            // What was committed before the subscription took is read from the store.
            guard let member = try? MemberID(bytes: key), let head = directHeads[member], let sessions = sessionsByMember[member] else { return }
            catchUp(sessions.values, on: .direct(member), after: head)
        case .reconnected:
            // What was published while the bus was away is read from the store as each stream's
            // subscription is confirmed again (`following`).
            counters.clusterReconnections += 1
        }
    }

    /// Has those of `sessions` that follow `stream` live read it from the store after `cursor`
    /// (quietly: no `synced`), then follow it live again.
    func catchUp(_ sessions: some Sequence<Session>, on stream: ReplayStream, after cursor: Int64) {
        for session in sessions {
            guard case .live? = session.subscription(for: stream) else { continue }
            _ = beginCatchingUp(session, stream: stream, announced: false)
            replay(session, stream: stream, after: cursor)
        }
    }

    /// `member`'s first connection here logged in: this node hears their private messages
    /// committed by the others.
    func firstConnectionHere(of member: MemberID) {
        bus?.follow(.direct, key: member.bytes)
    }

    /// `member`'s last connection here closed.
    func lastConnectionHereClosed(of member: MemberID) {
        bus?.unfollow(.direct, key: member.bytes)
        directHeads[member] = nil
    }

    /// A replay of `stream` reached its end at `cursor`: this node has sent everything up to it.
    func replayEnded(_ session: Session, stream: ReplayStream, at cursor: Int64) {
        session.replayedThrough[stream] = cursor
        guard bus != nil, case .direct(let member) = stream else { return }
        directHeads[member] = max(directHeads[member] ?? 0, cursor)
    }
}
