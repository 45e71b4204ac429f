import HavenNet
import HavenProtocol
import HavenStore

/// A stored history a client can replay: one room's messages, or one member's direct messages.
enum ReplayStream {
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
    /// Sends `session` everything stored in `stream` after `cursor`, page by page, then the live
    /// messages that arrived meanwhile (skipping any already replayed), then `synced`. From then
    /// on the stream is live. Every stored message reaches the client exactly once, in order.
    ///
    /// The replay paces itself: once half the client's send queue is taken it waits for the queue
    /// to drain to a quarter and goes on from the last message sent, so a history of large
    /// messages reaches a client that reads, instead of cutting it off as a slow consumer.
    func replay(_ session: Session, stream: ReplayStream, after cursor: Int64) {
        let page = ProtocolLimits.replayPage
        withStore({ database -> [StoredItem] in
            switch stream {
            case .room(let room): return try database.roomMessages(room: room.value, after: cursor, limit: page)
            case .direct(let member): return try database.directMessages(recipient: member.bytes, after: cursor, limit: page)
            }
        }) { [unowned self] result in
            guard sessions[session.connection.id] === session, case .catchingUp(let buffer)? = session.subscription(for: stream) else {
                return
            }
            guard case .success(let items) = result else {
                refuse(session, code: "store_failed", message: "history could not be read; join again")
                return
            }
            let kind: FrameCodec.Delivery = if case .room = stream { .roomMessage } else { .directMessage }
            let queueLimit = configuration.network.maxQueuedBytes
            var sent = cursor
            for item in items {
                if session.connection.queuedBytes > queueLimit / 2 {
                    session.connection.whenQueueBelow(queueLimit / 4) { [unowned self] in replay(session, stream: stream, after: sent) }
                    return
                }
                guard let frame = network?.frames.textFrame(FrameCodec.deliveryFrame(kind, stored: item.bytes, cursor: UInt64(item.cursor)))
                else { continue }
                session.connection.send(frame: frame)
                sent = item.cursor
            }
            let last = items.last?.cursor ?? cursor
            if items.count == page {
                replay(session, stream: stream, after: last)
                return
            }
            for (bufferedCursor, frame) in buffer where bufferedCursor > last {
                session.connection.send(frame: frame)
            }
            session.flushed(buffer)
            session.setSubscription(.live, for: stream)
            let room: RoomID? = if case .room(let room) = stream { room } else { nil }
            send(.synced(Synced(room: room, cursor: UInt64(max(last, buffer.last?.cursor ?? last)))), to: session)
        }
    }
}
