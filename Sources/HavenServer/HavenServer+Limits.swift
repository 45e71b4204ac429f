import HavenNet
import HavenProtocol
import HavenStore

/// The budgets every frame takes from: per connection, per identity, per client address.
extension HavenServer {
    /// Joins and leaves per connection (each tells everyone in the room and writes to the store):
    /// enough to rejoin every room after a reconnect, not to flood a room with comings and goings.
    func allowRoomChange(_ session: Session, room: RoomID) -> Bool {
        guard session.budgets?.take(.roomChange, now: loop.nowMilliseconds) ?? false else {
            counters.rateLimited += 1
            refuse(session, code: "rate_limited", message: "joining and leaving too fast; wait a moment", room: room)
            return false
        }
        return true
    }

    /// Every frame but a message takes from the connection's and the address's frame budgets
    /// (messages have their own, answered per message id). Key bundles have a larger budget of
    /// their own: a new epoch in a big room seals its key to every member at once. A refusal
    /// counts as a strike.
    func allowFrame(_ frame: Frame, from session: Session) -> Bool {
        let now = loop.nowMilliseconds
        let kind: ConnectionBudgets.Kind
        switch frame {
        case .send, .direct:
            return true
        case .keyBundle:
            kind = .keyBundle
        default:
            kind = .frame
        }
        if session.budgets?.take(kind, now: now) ?? false, addresses.allowFrame(session.addressKey, now: now) {
            session.budgets?.clearStrikes()
            return true
        }
        counters.rateLimited += 1
        strike(session, message: "too many requests; wait a moment and try again")
        return false
    }

    /// Answers a refusal by a rate limit; too many in a row end the connection.
    private func strike(_ session: Session, message: String, id: MessageID? = nil, retryAfterMs: Int? = nil) {
        let pastTheMost = session.budgets?.strike() ?? false
        send(.error(ErrorFrame(code: "rate_limited", message: message, id: id, retryAfterMs: retryAfterMs)), to: session)
        if pastTheMost {
            session.connection.close(.rateLimited, reason: "rate limit exceeded")
        }
    }

    /// Checks the identity's and the address's message budgets; a refusal counts as a strike.
    /// A message of `bytes` also takes from the identity's and the address's bytes for the hour,
    /// so nobody fills the disk with messages (attachments have budgets of their own).
    ///
    /// While the store has more than ``ServerConfiguration/maxStoreBacklog`` operations waiting,
    /// a message is refused as `rate_limited` with a retry hint, taking nothing and counting no
    /// strike: past what the store can commit, senders are slowed down before receivers fall
    /// behind, and nothing that was acknowledged waits in memory.
    func allowMessage(_ session: Session, id: MessageID, bytes: Int) -> Bool {
        guard let member = session.member?.member else { return false }
        if sanctions.isSuspended(member, now: configuration.now()) {
            refuse(session, code: "suspended", message: "you are suspended from posting for now; you can still read", id: id)
            return false
        }
        guard storeOperationsInFlight < configuration.maxStoreBacklog else {
            counters.refusedWhileBusy += 1
            send(.error(ErrorFrame(code: "rate_limited", message: "the service is busy; this message was not stored, send it again in a moment",
                                   id: id, retryAfterMs: Self.busyRetryMilliseconds)), to: session)
            return false
        }
        let now = loop.nowMilliseconds
        let identityAllows = session.budgets?.take(.message, now: now) ?? false
        if identityAllows && addresses.allowMessage(session.addressKey, now: now) {
            guard takeMessageBytes(bytes, member: member, session: session, now: now) else {
                counters.rateLimited += 1
                strike(session, message: "you have written a great deal this hour; this message was not stored, try again later", id: id)
                return false
            }
            session.budgets?.clearStrikes()
            return true
        }
        counters.rateLimited += 1
        let wait = identityAllows ? addresses.millisecondsUntilMessage(session.addressKey, now: now)
                                  : session.budgets?.millisecondsUntil(.message, now: now)
        strike(session, message: "sending too fast; this message was not stored", id: id, retryAfterMs: wait)
        return false
    }

    /// Runs the store write of a message from `session`, counting it while it waits: at
    /// ``ServerConfiguration/messagesAwaitingStorePerConnection`` the connection is not read
    /// until half of its messages are answered. A sender faster than the store is held back
    /// by TCP, before its frames cost the loop anything, instead of being read and refused.
    func storeMessage(
        from session: Session, _ message: MessageAppend, then: @escaping (Result<AppendedMessage?, StoreError>) -> Void
    ) {
        let most = configuration.messagesAwaitingStorePerConnection
        session.messagesAwaitingStore += 1
        if session.messagesAwaitingStore >= most && !session.readingPaused {
            session.readingPaused = true
            counters.readsPaused += 1
            session.connection.pauseReading()
        }
        let now = configuration.now()
        throughStore({ store, completion in store.append(message, now: now, completion: completion) }) { result in
            session.messagesAwaitingStore -= 1
            if session.readingPaused && session.messagesAwaitingStore <= most / 2 {
                session.readingPaused = false
                session.connection.resumeReading()
            }
            then(result)
        }
    }

    /// What a sender refused while the store is busy is told to wait: a few commits' time.
    static let busyRetryMilliseconds = 250

    /// Takes `bytes` from the identity's hourly bytes (fewer for a new identity) and the
    /// address's, from both or neither.
    private func takeMessageBytes(_ bytes: Int, member: MemberID, session: Session, now: UInt64) -> Bool {
        let isNew = session.isNewIdentity
        guard identities.hasMessageBytes(bytes, member: member, isNew: isNew, now: now),
              addresses.takeMessageBytes(session.addressKey, bytes: bytes, now: now) else { return false }
        identities.takeMessageBytes(bytes, member: member, isNew: isNew, now: now)
        return true
    }
}
