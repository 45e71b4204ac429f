import HavenNet
import HavenProtocol

/// The core's side of the connection loops: what they report, and sending one encoded frame to
/// many connections with one order per loop.
extension HavenServer {
    /// Takes in what a connection loop reports.
    func handle(_ event: ConnectionEvent) {
        switch event {
        case .opened(let id, let clientAddress, let loop):
            opened(MemberConnection(id: id, clientAddress: clientAddress, link: loopLinks[loop]))
        case .received(let id, let frame):
            // Frames already on their way when the core closed the connection are not handled.
            guard let session = sessions[id], !session.connection.isClosing else { return }
            received(frame, from: session)
        case .closed(let id):
            closed(id)
        case .fellBehind(let id, let stream, let cursor, let fall):
            guard let session = sessions[id] else { return }
            fellBehind(session, stream: stream, cursor: cursor, fall: fall)
        case .queueBelow(let id, let request, let queuedBytes):
            sessions[id]?.connection.queueBelow(request: request, queuedBytes: queuedBytes)
        case .perform(let work):
            work(self)
        }
    }

    /// Sends `frame` to every one of `recipients`: one order per loop, whatever their number.
    func broadcast(_ frame: OutboundBytes, to recipients: some Sequence<Session>) {
        for (link, ids) in byLoop(recipients, sending: frame) { link.post(.send(frame, to: ids)) }
    }

    /// Sends the live message at `cursor` of `stream` to those of `recipients` who follow the
    /// stream live (one who is catching up reads it from the store, where it was committed before
    /// delivery): one order per loop. A receiver whose send queue is already half full is sent
    /// no more live: its loop says so, and its stream falls behind (``fellBehind(_:stream:cursor:fall:)``).
    func deliverLive(_ frame: OutboundBytes, cursor: Int64, to recipients: some Sequence<Session>, on stream: ReplayStream) {
        let following = recipients.lazy.filter { if case .live? = $0.subscription(for: stream) { true } else { false } }
        for (link, ids) in byLoop(following, sending: frame) {
            link.post(.deliver(frame, to: ids, stream: stream, cursor: cursor))
        }
    }

    /// The ids of `recipients`' connections, by the loop each is on (only loops with some),
    /// each counted as sent `frame`.
    private func byLoop(_ recipients: some Sequence<Session>, sending frame: OutboundBytes) -> [(LoopLink, [Int])] {
        var ids = Array(repeating: [Int](), count: loopLinks.count)
        for recipient in recipients {
            ids[recipient.connection.link.index].append(recipient.connection.id)
            recipient.connection.countSent(frame.count)
        }
        return zip(loopLinks, ids).filter { !$0.1.isEmpty }
    }

    /// A receiver's queue was half full when a live message came: its stream catches up from the
    /// store, quietly (no `synced`), from that message on, once it has read what it has. So a
    /// busy room slows a slow reader down instead of cutting it off, nothing is held in memory for
    /// it, and only one that stops reading is let go (its replay stalls). A stream already
    /// catching up ends its catch-up past that message anyway.
    func fellBehind(_ session: Session, stream: ReplayStream, cursor: Int64, fall: Int) {
        session.falls[stream] = fall
        guard case .live? = session.subscription(for: stream) else { return }
        counters.receiversFellBehind += 1
        _ = beginCatchingUp(session, stream: stream, announced: false)
        replay(session, stream: stream, after: cursor - 1)
    }

    /// `stream` is live again for `session`: its loop sends it again (if it fell behind).
    func resumeLive(_ session: Session, stream: ReplayStream) {
        session.setSubscription(.live, for: stream)
        guard let fall = session.falls.removeValue(forKey: stream) else { return }
        session.connection.link.post(.resumeLive(session.connection.id, stream: stream, fallBehind: fall))
    }
}
