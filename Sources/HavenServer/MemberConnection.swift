import HavenNet

/// The server core's way to one loop's connections: that loop's ``ConnectionLoop`` itself when it
/// runs on the core's thread (orders are carried out at once), or an outbox to it otherwise.
/// Core loop only.
final class LoopLink {
    /// The loop's number, from 0 (the core's own).
    let index: Int
    /// The connection loop on the core's own thread, if this is it.
    let local: ConnectionLoop?
    /// What the loop counts, readable from the core.
    let figures: ConnectionLoopFigures
    private let outbox: LoopOutbox<ConnectionOrder>?

    /// The link to the connection loop on the core's own thread.
    init(local: ConnectionLoop) {
        index = local.index
        self.local = local
        figures = local.figures
        outbox = nil
    }

    /// The link to loop number `index`, reached through `outbox`.
    init(index: Int, figures: ConnectionLoopFigures, outbox: LoopOutbox<ConnectionOrder>) {
        self.index = index
        local = nil
        self.figures = figures
        self.outbox = outbox
    }

    /// Has the loop carry out `order`: at once on the core's own loop, after this turn otherwise.
    func post(_ order: ConnectionOrder) {
        if let local { local.apply(order) } else { outbox?.post(order) }
    }
}

/// A member's WebSocket connection as the server's core sees it, whichever loop its socket is on.
/// Core loop only.
///
/// For a connection on another loop, what is queued for it is known only when that loop says so;
/// in between, bytes sent count as still queued. The estimate is never below the truth, so a
/// replay pacing itself by it waits at worst a little longer than it needs to.
final class MemberConnection {
    /// A number unique within the process.
    let id: Int
    /// The client's address. Kept in memory only; never log it.
    let clientAddress: [UInt8]
    /// The loop the socket is on.
    let link: LoopLink
    /// Bytes sent to a connection on another loop, in all.
    private var bytesSent = 0
    /// What its loop last said it held, and the bytes sent before it was asked.
    private var lastKnown = (queued: 0, sentBefore: 0)
    /// Actions waiting for the queue to drain, by request number, with the bytes sent before each.
    private var queueWaits: [Int: (sentBefore: Int, action: () -> Void)] = [:]
    private var lastRequest = 0

    init(id: Int, clientAddress: [UInt8], link: LoopLink) {
        self.id = id
        self.clientAddress = clientAddress
        self.link = link
    }

    /// Bytes waiting to be written to the peer (an upper bound for another loop's connection).
    var queuedBytes: Int {
        if let local = link.local { return local.queuedBytes(of: id) }
        return lastKnown.queued + bytesSent - lastKnown.sentBefore
    }

    /// Sends a pre-framed message. False when the connection is known to be closing or was just
    /// let go as a slow consumer (known at once only on the core's own loop).
    @discardableResult
    func send(frame: OutboundBytes) -> Bool {
        if let local = link.local { return local.send(frame, to: id) }
        bytesSent += frame.count
        link.post(.send(frame, to: [id]))
        return true
    }

    /// Counts `bytes` sent to this connection as part of an order for many.
    func countSent(_ bytes: Int) {
        bytesSent += bytes
    }

    /// Runs `action` once the bytes queued for the peer are at most `bytes`.
    func whenQueueBelow(_ bytes: Int, _ action: @escaping () -> Void) {
        if let local = link.local { return local.whenQueueBelow(bytes, on: id, action) }
        lastRequest += 1
        queueWaits[lastRequest] = (bytesSent, action)
        link.post(.tellWhenQueueBelow(id, bytes: bytes, request: lastRequest))
    }

    /// The loop's answer to a ``whenQueueBelow(_:_:)``.
    func queueBelow(request: Int, queuedBytes: Int) {
        guard let wait = queueWaits.removeValue(forKey: request) else { return }
        lastKnown = (queuedBytes, wait.sentBefore)
        wait.action()
    }

    /// Whether the core has closed the connection: what still comes from it is not handled.
    private(set) var isClosing = false

    /// Starts the close handshake with `code`.
    func close(_ code: WebSocketCloseCode, reason: String = "") {
        isClosing = true
        link.post(.close(id, code, reason: reason))
    }

    /// Refuses messages longer than `bytes` from now on (close 1009).
    func limitMessages(to bytes: Int) {
        link.post(.limitMessages(id, bytes: bytes))
    }

    /// Stops reading the peer's bytes (what was read is still handled).
    func pauseReading() {
        link.post(.pauseReading(id))
    }

    /// Reads the peer's bytes again.
    func resumeReading() {
        link.post(.resumeReading(id))
    }
}
