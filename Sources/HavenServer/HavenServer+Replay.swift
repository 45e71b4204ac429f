import HavenNet
import HavenProtocol
import HavenStore

/// A stored history a client can replay: one room's messages, or one member's direct messages.
enum ReplayStream: Hashable, Sendable {
    case room(RoomID)
    case direct(MemberID)
}

extension Session {
    func subscription(for stream: ReplayStream) -> Subscription? {
        switch stream {
        case .room(let room): return rooms[room]
        case .direct: return direct
        }
    }

    func setSubscription(_ subscription: Subscription, for stream: ReplayStream) {
        switch stream {
        case .room(let room): rooms[room] = subscription
        case .direct: direct = subscription
        }
    }
}

extension HavenServer {
    /// Sets `stream` catching up under a new replay number (returned), superseding any replay of
    /// it still running; then ``replay(_:stream:after:)`` sends what is stored, and `synced` at
    /// the end if `announced`.
    func beginCatchingUp(_ session: Session, stream: ReplayStream, announced: Bool = true) -> Int {
        if let superseded = session.subscription(for: stream)?.replay { finishReplay(superseded) }
        nextReplay += 1
        session.setSubscription(.catchingUp(replay: nextReplay, announced: announced), for: stream)
        return nextReplay
    }

    /// Sends `session` everything stored in `stream` after `cursor`, page by page, then `synced`;
    /// from then on the stream is live. Live messages are not sent while it catches up: each
    /// page is read from the store after every message delivered before it was committed, so the
    /// last page, read once the store has no more, ends exactly where live delivery begins, and
    /// every stored message reaches the client once, in order.
    ///
    /// The replay paces itself: each page holds at most what fits in half the client's send
    /// queue, and once that half is taken the replay waits for the queue to drain to a quarter.
    /// A few replays per client address run at once; the rest wait their turn (a replay that has
    /// run for ``RateLimitSettings/replayTurnSeconds`` hands its turn on at its next page and
    /// waits again, and one waiting for its client to read gives its turn up meanwhile), and a
    /// client that stops reading its history for ``RateLimitSettings/replayStallSeconds`` is let
    /// go, so its connection is not kept open for good.
    func replay(_ session: Session, stream: ReplayStream, after cursor: Int64) {
        guard let replay = session.subscription(for: stream)?.replay else { return }
        let start = { [unowned self] in readPage(session, stream: stream, replay: replay, after: cursor) }
        if replayTurns.take(session.addressKey, replay: replay, now: loop.nowMilliseconds, start: start) { start() }
    }

    /// Stops sending `session` the room's messages, ending a replay of them still running.
    func unsubscribe(_ session: Session, from room: RoomID) {
        if let replay = session.rooms.removeValue(forKey: room)?.replay { finishReplay(replay) }
    }

    /// Lets `session` go if a replay has waited for it to read for too long.
    func dropIfReplayStalled(_ session: Session, now: UInt64) {
        guard let since = session.replaysWaiting.values.min(),
              now &- since > UInt64(configuration.rateLimits.replayStallSeconds * 1000)
        else { return }
        session.replaysWaiting.removeAll()
        counters.stalledReadersLetGo += 1
        session.connection.close(.slowConsumer, reason: "history not read")
    }

    /// Ends a replay's turn and starts the next one waiting for it.
    func finishReplay(_ replay: Int) {
        replayTurns.finish(replay, now: loop.nowMilliseconds)?()
    }

    private func readPage(_ session: Session, stream: ReplayStream, replay: Int, after cursor: Int64) {
        guard sessions[session.connection.id] === session, session.subscription(for: stream)?.replay == replay else {
            finishReplay(replay)
            return
        }
        let queueLimit = configuration.network.maxQueuedBytes
        guard session.connection.queuedBytes <= queueLimit / 2 else {
            // While its client reads what it has, the replay reads nothing from the store: its
            // turn goes to the next one waiting, and it takes a turn again once the queue drains.
            // (Held, a few clients that never read kept everyone else from their network waiting
            // for a catch-up until they were let go.)
            replayTurns.finish(replay, now: loop.nowMilliseconds)?()
            session.replaysWaiting[replay] = loop.nowMilliseconds
            session.connection.whenQueueBelow(queueLimit / 4) { [unowned self] in
                session.replaysWaiting[replay] = nil
                let resume = { [unowned self] in readPage(session, stream: stream, replay: replay, after: cursor) }
                if replayTurns.take(session.addressKey, replay: replay, now: loop.nowMilliseconds, start: resume) { resume() }
            }
            return
        }
        // One page at a time per connection: two read at once would each count on the same room
        // in the send queue, and together overflow it.
        guard !session.readingPage else {
            session.pagesWaitingToBeRead.append { [unowned self] in readPage(session, stream: stream, replay: replay, after: cursor) }
            return
        }
        session.readingPage = true
        let rows = ProtocolLimits.replayPage
        let bytes = max(1, queueLimit / 2 - session.connection.queuedBytes)
        withStore({ database -> [StoredItem] in
            switch stream {
            case .room(let room): return try database.roomMessages(room: room.value, after: cursor, limit: rows, maxBytes: bytes)
            case .direct(let member): return try database.directMessages(recipient: member.bytes, after: cursor, limit: rows, maxBytes: bytes)
            }
        }) { [unowned self] result in
            session.readingPage = false
            // The next page waiting, once this one's messages are queued.
            defer { session.readNextPage() }
            guard sessions[session.connection.id] === session, session.subscription(for: stream)?.replay == replay else {
                finishReplay(replay)
                return
            }
            guard case .success(let items) = result else {
                finishReplay(replay)
                refuse(session, code: "store_failed", message: "history could not be read; join again")
                return
            }
            let kind: FrameCodec.Delivery = if case .room = stream { .roomMessage } else { .directMessage }
            for item in items {
                let frame = frames.textFrame(FrameCodec.deliveryFrame(kind, stored: item.bytes, cursor: UInt64(item.cursor)))
                guard session.connection.send(frame: frame) else { return }
            }
            let last = items.last?.cursor ?? cursor
            if items.count == rows || items.reduce(0, { $0 + $1.bytes.count }) >= bytes || heardPast(last, of: stream, by: session) {
                let resume = { [unowned self] in readPage(session, stream: stream, replay: replay, after: last) }
                let slice = UInt64(configuration.rateLimits.replayTurnSeconds * 1000)
                (replayTurns.passOn(replay, now: loop.nowMilliseconds, slice: slice, resume: resume) ?? resume)()
                return
            }
            let announced = if case .catchingUp(_, let announced)? = session.subscription(for: stream) { announced } else { true }
            replayEnded(session, stream: stream, at: last)
            resumeLive(session, stream: stream)
            let room: RoomID? = if case .room(let room) = stream { room } else { nil }
            if announced { send(.synced(Synced(room: room, cursor: UInt64(last))), to: session) }
            finishReplay(replay)
        }
    }
}
