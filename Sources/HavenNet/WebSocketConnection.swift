/// One accepted connection, from its first HTTP byte to its close. Loop thread only.
///
/// While in the HTTP phase it answers plain requests through the server's delegate; after a
/// valid upgrade it carries a ``WebSocketSession``.
public final class WebSocketConnection {
    enum Phase {
        case http(HTTPParser)
        case webSocket(WebSocketSession)
        case closed
    }

    /// A number unique within this server process, for maps keyed by connection.
    public let id: Int
    /// The peer's raw IP address bytes (4 or 16). Kept in memory only; never log it.
    public let peerAddress: [UInt8]
    /// The peer is the reverse proxy: one listed in `trustedProxies`, or anyone on the server's
    /// Unix-domain socket (which only the proxy's group may open). Its `X-Forwarded-For` names
    /// the client, and its `X-Forwarded-Proto` says whether the client came over TLS.
    public let fromProxy: Bool
    /// The client's address: the peer's, or, from a trusted proxy, the one its `X-Forwarded-For`
    /// names (empty when it names none). Kept in memory only; never log it.
    public internal(set) var clientAddress: [UInt8]
    /// Loop time (ms) of the last byte received.
    public internal(set) var lastActivity: UInt64
    /// Anything the application attaches (its session).
    public var context: AnyObject?
    var phase: Phase
    var pingSent = false
    var closingSince: UInt64?
    /// Loop time (ms) since which a message has been arriving, part of it in and the rest not,
    /// and the bytes read from this peer by then.
    var messageStartedAt: (at: UInt64, bytesRead: Int)?
    /// Bytes read from this peer so far.
    var bytesRead = 0
    /// The client network this connection is counted against, once it is known.
    var countedNetwork: [UInt8]?
    /// Loop time (ms) by which the HTTP request in progress must be complete (its head, and its
    /// body at no less than the slowest upload rate allowed), or the connection is closed.
    var httpDeadline: UInt64
    /// Loop time (ms) since which this connection has waited for a request without sending a byte.
    var silentSince: UInt64?
    /// While a large body (an upload) arrives: its bytes since the deadline last moved.
    var uploadWindowBytes: Int?
    /// Told once whether the body in progress arrived whole.
    var bodyEnded: ((_ arrived: Bool) -> Void)?
    /// The application holds the body in progress back (``BodyFlow``): its deadline waits.
    var bodyHeldBack = false
    private var droppedAsSlowConsumer = false
    let stream: SocketStream
    unowned let server: WebSocketServer

    init(id: Int, stream: SocketStream, peerAddress: [UInt8], fromProxy: Bool, now: UInt64, server: WebSocketServer, limits: HTTPLimits) {
        self.id = id
        self.stream = stream
        self.peerAddress = peerAddress
        self.fromProxy = fromProxy
        clientAddress = peerAddress
        self.lastActivity = now
        httpDeadline = now + server.configuration.handshakeTimeoutMilliseconds
        self.server = server
        phase = .http(HTTPParser(kind: .request, limits: limits))
    }

    /// True once the WebSocket handshake succeeded.
    public var isWebSocket: Bool {
        if case .webSocket = phase { return true }
        return false
    }

    /// Bytes waiting to be written to this peer.
    public var queuedBytes: Int { stream.queuedBytes }

    /// Runs `action` once the bytes queued for this peer are at most `bytes` (at once if they are
    /// already): for senders that pace themselves, like a replay of stored history.
    public func whenQueueBelow(_ bytes: Int, _ action: @escaping () -> Void) {
        stream.whenQueueBelow(bytes, action)
    }

    /// Refuses messages longer than `bytes` from this peer from now on (close 1009).
    public func limitMessages(to bytes: Int) {
        guard case .webSocket(let session) = phase else { return }
        session.limitMessages(to: bytes)
    }

    /// Stops reading this peer's bytes (they wait in the kernel, then in the network, and the
    /// peer's sends slow down); what was already read is still handled.
    public func pauseReading() {
        guard case .webSocket(let session) = phase, !session.isClosing else { return }
        stream.stopReading()
    }

    /// Reads again after ``pauseReading()``, unless the connection is closing.
    public func resumeReading() {
        guard case .webSocket(let session) = phase, !session.isClosing else { return }
        stream.startReading()
    }

    /// Sends a pre-framed text message. A peer whose queue would pass the server's limit is
    /// disconnected with ``WebSocketCloseCode/slowConsumer`` instead, and `false` is returned.
    @discardableResult
    public func send(frame: OutboundBytes) -> Bool {
        guard case .webSocket(let session) = phase, !session.isClosing else { return false }
        guard stream.queuedBytes + frame.count <= server.configuration.maxQueuedBytes else {
            dropSlowConsumer(session)
            return false
        }
        session.send(frame: frame)
        return true
    }

    /// Starts the close handshake with `code`; the socket closes when the peer answers or after
    /// the close timeout.
    public func close(_ code: WebSocketCloseCode, reason: String = "") {
        switch phase {
        case .webSocket(let session):
            if closingSince == nil { closingSince = server.loop.nowMilliseconds }
            session.close(code, reason: reason)
        case .http:
            stream.close()
        case .closed:
            break
        }
    }

    /// Ends the request body in progress, if any: it arrived whole, or the connection ended first.
    func endBody(arrived: Bool) {
        uploadWindowBytes = nil
        let ended = bodyEnded
        bodyEnded = nil
        ended?(arrived)
    }

    func dropSlowConsumer(_ session: WebSocketSession) {
        guard !droppedAsSlowConsumer else { return }
        droppedAsSlowConsumer = true
        // The close frame would queue behind the backlog; close the socket now.
        NetworkFigures.add(1, to: server.figures.slowConsumersLetGo)
        closingSince = server.loop.nowMilliseconds
        session.close(.slowConsumer, reason: "send queue full")
        stream.close()
    }
}
