import CUV
import Foundation

/// What a ``WebSocketServer`` reports to the application. Every call is on the loop thread.
public protocol WebSocketServerDelegate: AnyObject {
    /// Answers a plain HTTP request (anything that is not the WebSocket upgrade) from the peer
    /// address `peer` (4 or 16 bytes) by calling `reply` once, at once or later on the loop thread
    /// (after a store operation, say).
    func respond(to request: HTTPMessage, from peer: [UInt8], reply: @escaping (HTTPResponse) -> Void)
    /// A WebSocket handshake completed.
    func opened(_ connection: WebSocketConnection)
    /// A complete, UTF-8-valid text message arrived; the bytes are valid only during the call.
    func received(_ text: UnsafeRawBufferPointer, from connection: WebSocketConnection)
    /// The connection is gone (after ``opened(_:)``).
    func closed(_ connection: WebSocketConnection)
    /// How large a body the request with this head may carry, decided before any of it is read;
    /// or the refusal to answer with at once (an upload without a valid token, say). Nil: the
    /// configured ``HTTPLimits/maxBodyBytes``.
    func bodyAllowance(for head: HTTPMessage, from client: [UInt8]) -> Result<BodyAllowance, HTTPParseError>?
    /// Reads part `index` (from 0) of a response's ``StreamedBody`` and calls `deliver` once, on
    /// the loop thread, with its bytes; or with nil when it cannot (the body is gone), and the
    /// connection is closed with the answer cut short.
    func readPart(_ index: Int, of body: StreamedBody, then deliver: @escaping ([UInt8]?) -> Void)
}

extension WebSocketServerDelegate {
    /// Every request may carry up to ``HTTPLimits/maxBodyBytes``.
    public func bodyAllowance(for head: HTTPMessage, from client: [UInt8]) -> Result<BodyAllowance, HTTPParseError>? { nil }

    /// No streamed bodies: every part is missing.
    public func readPart(_ index: Int, of body: StreamedBody, then deliver: @escaping ([UInt8]?) -> Void) { deliver(nil) }
}

/// HTTP/1.1 and WebSocket server on libuv: accepts connections, parses requests with limits,
/// upgrades at ``WebSocketServerConfiguration/webSocketPath`` after checking `Origin`, and closes
/// peers that are slow to handshake, silent, or too slow to read. Loop thread only.
public final class WebSocketServer {
    /// The loop everything runs on.
    public let loop: EventLoop
    /// The configuration.
    public let configuration: WebSocketServerConfiguration
    /// The frame encoder for fan-out.
    public let frames: WebSocketFrameEncoder
    /// The port actually bound.
    public var port: Int { listener?.port ?? 0 }
    /// Open connections by id.
    public private(set) var connections: [Int: WebSocketConnection] = [:]
    /// What this server counts (connections, framing contexts, those let go), readable from any thread.
    public let figures: NetworkFigures
    /// This server's place among the loops sharing its address.
    let placement: LoopPlacement
    /// The listening socket, for the servers of the other loops to share (-1 once closed).
    public var listenerDescriptor: Int32 { listener?.descriptor ?? -1 }

    private weak var delegate: (any WebSocketServerDelegate)?
    private var listener: SocketListener?
    private var sweepTimer: LoopTimer?
    private var connectionSerial = 0
    private let perNetwork: ConnectionsPerNetwork
    /// Connections waiting for a request, oldest first, with when they began to wait; entries
    /// whose connection has since sent something or closed are skipped.
    private var silent: [(id: Int, since: UInt64)] = []
    private var silentStart = 0

    /// Binds and starts accepting. Call on the loop thread. Past the first of several loops,
    /// `placement` says how to join the first one's listener; `figures` are where the counters go,
    /// and `perNetwork` counts each network's connections (shared by the loops).
    ///
    /// - Throws: ``UVError`` when the address cannot be bound.
    public init(
        loop: EventLoop, configuration: WebSocketServerConfiguration, delegate: any WebSocketServerDelegate, placement: LoopPlacement = .alone,
        figures: NetworkFigures = NetworkFigures(), perNetwork: ConnectionsPerNetwork = ConnectionsPerNetwork()
    ) throws {
        loop.preconditionInLoop()
        self.loop = loop
        self.figures = figures
        self.perNetwork = perNetwork
        self.configuration = configuration
        self.delegate = delegate
        self.placement = placement
        frames = try WebSocketFrameEncoder()
        let accept = { [unowned self] (stream: SocketStream) in self.accept(stream) }
        switch (configuration.unixSocketPath, placement.first) {
        case (_?, let first?):
            listener = try SocketListener(loop: loop, sharing: first.descriptor, onAccept: accept)
        case (let path?, nil):
            listener = try SocketListener(loop: loop, endpoint: .unix(path: path), onAccept: accept)
        case (nil, let first):
            let port = first?.port ?? configuration.port
            listener = try SocketListener(
                loop: loop, endpoint: .tcp(host: configuration.host, port: port), sharing: placement.portSharing, onAccept: accept)
        }
        let timer = try LoopTimer(loop: loop) { [unowned self] in sweep() }
        timer.start(after: 500, repeatEvery: 500)
        sweepTimer = timer
    }

    /// Stops accepting new connections (existing ones continue).
    public func stopAccepting() {
        listener?.close()
        listener = nil
    }

    /// Stops accepting, sends every WebSocket peer a close frame with `code`, and closes the rest.
    public func shutdown(_ code: WebSocketCloseCode = .goingAway) {
        stopAccepting()
        sweepTimer?.close()
        sweepTimer = nil
        for connection in connections.values {
            connection.close(code, reason: "server shutting down")
            connection.stream.closeAfterWriting()
        }
    }

    private func accept(_ stream: SocketStream) {
        NetworkFigures.add(1, to: figures.acceptedSockets)
        guard connections.count < configuration.maxConnections || letQuietestGo() else {
            NetworkFigures.add(1, to: figures.refusedAtCapacity)
            stream.close()
            return
        }
        if configuration.socketSendBufferBytes > 0 { try? stream.setSendBufferSize(configuration.socketSendBufferBytes) }
        let id = placement.connectionID(serial: connectionSerial)
        connectionSerial += 1
        let peer = Self.peerAddress(of: stream)
        let connection = WebSocketConnection(
            id: id, stream: stream, peerAddress: peer, fromProxy: stream.isUnixDomain || configuration.trustedProxies.contains(peer),
            now: loop.nowMilliseconds, server: self, limits: configuration.httpLimits)
        connections[connection.id] = connection
        waitingForRequest(connection)
        stream.onRead = { [unowned self, unowned connection] bytes in read(bytes, on: connection) }
        stream.onClose = { [unowned self, unowned connection] in closed(connection) }
        if case .http(let parser) = connection.phase {
            parser.bodyAllowance = { [unowned self, unowned connection, unowned parser] head in
                let allowance = delegate?.bodyAllowance(for: head, from: clientAddress(of: head, on: connection))
                    ?? .success(BodyAllowance(maxBytes: configuration.httpLimits.maxBodyBytes))
                return allowance.map { body in
                    connection.bodyEnded = body.whenEnded
                    parser.bodySink = body.receive.map { receive in
                        let flow = bodyFlow(of: connection)
                        return { bytes in receive(bytes, flow) }
                    }
                    // A large body must keep coming: each window of the handshake time brings
                    // its share at the slowest upload rate allowed, or the connection is closed.
                    if body.maxBytes > configuration.httpLimits.maxBodyBytes {
                        connection.uploadWindowBytes = 0
                        connection.httpDeadline = loop.nowMilliseconds + configuration.handshakeTimeoutMilliseconds
                    }
                    return body.maxBytes
                }
            }
        }
        // A proxy's connections are counted against the client each request names.
        guard connection.fromProxy || count(connection, as: connection.peerAddress) else {
            reject(connection, with: Self.tooManyConnections)
            return
        }
        stream.startReading()
    }

    /// The flow that holds back `connection`'s body while the application puts it away: the
    /// body's clock stops meanwhile (the client is not slow, the server is), and starts a fresh
    /// window when reading resumes. The application may hold the flow past the connection's end
    /// (a store write answered after the client left): then it does nothing.
    private func bodyFlow(of connection: WebSocketConnection) -> BodyFlow {
        BodyFlow(
            stopReading: { [weak connection] in
                guard let connection else { return }
                connection.bodyHeldBack = true
                connection.stream.stopReading()
            },
            startReading: { [weak self, weak connection] in
                guard let self, let connection else { return }
                connection.bodyHeldBack = false
                if connection.uploadWindowBytes != nil {
                    connection.uploadWindowBytes = 0
                    connection.httpDeadline = loop.nowMilliseconds + configuration.handshakeTimeoutMilliseconds
                }
                connection.stream.startReading()
            })
    }

    /// Notes that `connection` waits for a request (just accepted, or kept alive after an answer).
    private func waitingForRequest(_ connection: WebSocketConnection) {
        connection.silentSince = loop.nowMilliseconds
        silent.append((connection.id, loop.nowMilliseconds))
    }

    /// At capacity, closes the connection that has waited longest without sending a byte of a
    /// request (plain HTTP only: a WebSocket or a request under way is never cut), so a flood of
    /// idle connections cannot keep everyone else out. False when there is none.
    private func letQuietestGo() -> Bool {
        while silentStart < silent.count {
            let (id, since) = silent[silentStart]
            silentStart += 1
            guard let connection = connections[id], connection.silentSince == since, case .http = connection.phase else { continue }
            connection.silentSince = nil
            NetworkFigures.add(1, to: figures.silentLetGo)
            connection.stream.close()
            return true
        }
        return false
    }

    private static let tooManyConnections = HTTPResponse.error(
        status: 429, code: "too_many_connections", message: "too many connections from this network; try again later",
        headers: ["Retry-After": "10"])

    /// Counts `connection` against its client's network; false when that network already holds
    /// as many connections as it may.
    private func count(_ connection: WebSocketConnection, as client: [UInt8]) -> Bool {
        let network = IPAddress.network(of: client)
        guard perNetwork.take(network, most: configuration.maxConnectionsPerNetwork) else { return false }
        connection.countedNetwork = network
        return true
    }

    private func read(_ bytes: UnsafeRawBufferPointer, on connection: WebSocketConnection) {
        connection.lastActivity = loop.nowMilliseconds
        connection.bytesRead += bytes.count
        connection.pingSent = false
        connection.silentSince = nil
        if let received = connection.uploadWindowBytes {
            let window = Int(configuration.handshakeTimeoutMilliseconds) * configuration.minUploadBytesPerSecond / 1000
            if received + bytes.count >= window {
                connection.uploadWindowBytes = 0
                connection.httpDeadline = loop.nowMilliseconds + configuration.handshakeTimeoutMilliseconds
            } else {
                connection.uploadWindowBytes = received + bytes.count
            }
        }
        switch connection.phase {
        case .http(let parser):
            readHTTP(bytes, parser: parser, on: connection)
        case .webSocket(let session):
            session.receive(bytes)
        case .closed:
            break
        }
    }

    private func readHTTP(_ bytes: UnsafeRawBufferPointer, parser: HTTPParser, on connection: WebSocketConnection) {
        var remaining = bytes
        while !remaining.isEmpty, case .http = connection.phase {
            let progress: HTTPParser.Progress
            do {
                progress = try parser.feed(remaining)
            } catch {
                reject(connection, with: .error(status: error.status, code: error.code, message: error.description, headers: error.headers),
                       lingering: true)
                return
            }
            guard case .complete(var request, let consumed) = progress else { return }
            connection.endBody(arrived: true)
            remaining = UnsafeRawBufferPointer(rebasing: remaining[consumed...])
            connection.clientAddress = clientAddress(of: request, on: connection)
            request.arrivedOverTLS = connection.fromProxy
                && request.headerList("X-Forwarded-Proto")?.split(separator: ",").last?.trimmingCharacters(in: .whitespaces)
                    .equalsIgnoringASCIICase("https") == true
            if connection.countedNetwork == nil, !count(connection, as: connection.clientAddress) {
                reject(connection, with: Self.tooManyConnections)
                return
            }
            if request.isUpgrade || request.path == configuration.webSocketPath {
                upgrade(connection, request: request, leftover: remaining)
                return
            }
            // One request at a time: reading pauses until the reply, and pipelined bytes wait.
            let pipelined = Array(remaining)
            connection.stream.stopReading()
            guard let delegate else {
                reject(connection, with: HTTPResponse(status: 503))
                return
            }
            delegate.respond(to: request, from: connection.clientAddress) { [weak self, weak connection] response in
                guard let self, let connection, isServing(connection) else { return }
                connection.stream.write(OutboundBytes(response.serialized(keepAlive: request.keepAlive)))
                // The next request waits until this answer is written out: a client that asks and
                // never reads holds one answer in the server's memory, not a pile of them, and a
                // slow one gets all of a large answer before the clock for its next request starts.
                let answered = { [weak self, weak connection] in
                    guard let self, let connection, isServing(connection) else { return }
                    whenWritten(connection) { [weak self, weak connection] in
                        guard let self, let connection, isServing(connection) else { return }
                        guard request.keepAlive else {
                            connection.stream.closeAfterWriting()
                            connection.phase = .closed
                            return
                        }
                        // The answer may still be on its way in the kernel's buffers and the network:
                        // the client has the answer time to take it before the next request's clock.
                        connection.httpDeadline = loop.nowMilliseconds + configuration.answerTimeoutMilliseconds
                        if pipelined.isEmpty { waitingForRequest(connection) }
                        connection.stream.startReading()
                        if !pipelined.isEmpty { pipelined.withUnsafeBytes { self.readHTTP($0, parser: parser, on: connection) } }
                    }
                }
                if let body = response.streamedBody {
                    stream(body, fromPart: 0, sent: 0, on: connection, then: answered)
                } else {
                    answered()
                }
            }
            return
        }
    }

    /// What a client must read of an answer, each handshake time, to be given the next.
    private static let readStep = 64 * 1024

    /// Runs `then` on a later turn of the loop, once everything queued for `connection` is
    /// written; meanwhile each 64 KiB the client takes gives it another
    /// ``WebSocketServerConfiguration/handshakeTimeoutMilliseconds``.
    private func whenWritten(_ connection: WebSocketConnection, then: @escaping () -> Void) {
        connection.stream.whenQueueBelow(max(0, connection.stream.queuedBytes - Self.readStep)) { [weak self, weak connection] in
            guard let self, let connection, isServing(connection) else { return }
            guard connection.stream.queuedBytes > 0 else {
                then()
                return
            }
            connection.httpDeadline = loop.nowMilliseconds + configuration.answerTimeoutMilliseconds
            whenWritten(connection, then: then)
        }
    }

    /// Whether `connection` is still open and answering plain HTTP.
    private func isServing(_ connection: WebSocketConnection) -> Bool {
        guard connections[connection.id] === connection, case .http = connection.phase else { return false }
        return true
    }

    /// Writes a streamed body part by part, each once the peer has read all but a quarter of the
    /// send queue; each part read gives the peer another ``WebSocketServerConfiguration/handshakeTimeoutMilliseconds``
    /// to read the next, so a slow phone gets a large attachment and a peer that stops reading
    /// is let go. A part missing or too long cuts the answer short by closing the connection.
    private func stream(_ body: StreamedBody, fromPart part: Int, sent: Int, on connection: WebSocketConnection, then answered: @escaping () -> Void) {
        guard sent < body.length else {
            answered()
            return
        }
        // The next part once the one before is nearly written: a download holds a part or two.
        connection.stream.whenQueueBelow(Self.readStep) { [weak self, weak connection] in
            guard let self, let connection, isServing(connection) else { return }
            connection.httpDeadline = loop.nowMilliseconds + configuration.answerTimeoutMilliseconds
            guard let delegate else {
                connection.stream.close()
                return
            }
            delegate.readPart(part, of: body) { [weak self, weak connection] bytes in
                guard let self, let connection, isServing(connection) else { return }
                guard let bytes, !bytes.isEmpty, sent + bytes.count <= body.length else {
                    connection.stream.close()
                    return
                }
                connection.stream.write(OutboundBytes(bytes))
                stream(body, fromPart: part + 1, sent: sent + bytes.count, on: connection, then: answered)
            }
        }
    }

    private func upgrade(_ connection: WebSocketConnection, request: HTTPMessage, leftover: UnsafeRawBufferPointer) {
        guard request.path == configuration.webSocketPath else {
            reject(connection, with: .error(status: 404, code: "not_found", message: "no WebSocket endpoint here"))
            return
        }
        let accept: String
        do {
            accept = try WebSocketHandshake.accept(request, allowedOrigins: configuration.allowedOrigins)
        } catch {
            let extra = error == .unsupportedVersion ? ["Sec-WebSocket-Version": "13"] : [:]
            reject(connection, with: .error(status: error.status, code: error.code, message: error.description, headers: extra))
            return
        }
        let session = WebSocketSession(
            role: .server, stream: connection.stream, maxMessageBytes: configuration.maxMessageBytes,
            maxQueuedBytes: configuration.maxQueuedBytes)
        // Once the server has said goodbye, what the peer still sends is dropped unread (RFC 6455
        // lets an endpoint that sent a close discard data): a refused peer cannot keep the
        // application checking frames until the close times out.
        session.onText = { [unowned self, unowned connection, unowned session] text in
            guard !session.isClosing else { return }
            delegate?.received(text, from: connection)
        }
        session.onQueueFull = { [unowned connection, unowned session] in connection.dropSlowConsumer(session) }
        session.onFramingContextCountChange = { [unowned self] change in NetworkFigures.add(change, to: figures.liveFramingContexts) }
        connection.stream.write(OutboundBytes(WebSocketHandshake.switchingProtocolsResponse(accept: accept)))
        connection.phase = .webSocket(session)
        NetworkFigures.add(1, to: figures.openWebSockets)
        delegate?.opened(connection)
        if !leftover.isEmpty { session.receive(leftover) }
    }

    /// Answers and closes. `lingering`: a client may still be sending the body of the refused
    /// request; closing with it unread would reset the connection before the client reads the
    /// answer, so the server ends its side after the answer and reads and drops what comes until
    /// the client hangs up or two seconds pass.
    private func reject(_ connection: WebSocketConnection, with response: HTTPResponse, lingering: Bool = false) {
        connection.stream.write(OutboundBytes(response.serialized(keepAlive: false)))
        connection.phase = .closed
        guard lingering else {
            connection.stream.stopReading()
            connection.stream.closeAfterWriting()
            return
        }
        connection.stream.shutdownAfterWriting()
        connection.httpDeadline = loop.nowMilliseconds + 2_000
    }

    private func closed(_ connection: WebSocketConnection) {
        connections[connection.id] = nil
        connection.endBody(arrived: false)
        if let network = connection.countedNetwork { perNetwork.release(network) }
        if case .webSocket(let session) = connection.phase {
            NetworkFigures.add(-1, to: figures.openWebSockets)
            connection.phase = .closed
            delegate?.closed(connection)
            session.end()
        }
        connection.phase = .closed
        connection.context = nil
    }

    private func sweep() {
        let now = loop.nowMilliseconds
        // The list of silent connections keeps only those still silent.
        silent = silent[silentStart...].filter { connections[$0.id]?.silentSince == $0.since }
        silentStart = 0
        for connection in connections.values {
            let quiet = now &- connection.lastActivity
            switch connection.phase {
            case .http:
                if now > connection.httpDeadline && !connection.bodyHeldBack { connection.stream.close() }
            case .webSocket(let session):
                // A close the session began itself (a protocol error, a binary message) has the
                // same time to be answered as one the application began.
                if connection.closingSince == nil, session.isClosing { connection.closingSince = now }
                if let since = connection.closingSince {
                    if now &- since > configuration.closeTimeoutMilliseconds { connection.stream.close() }
                } else if quiet > configuration.idleTimeoutMilliseconds {
                    connection.close(.timeout, reason: "idle")
                } else if tookTooLong(connection, session, now: now) {
                    connection.close(.policyViolation, reason: "a message took too long to arrive")
                } else if quiet > configuration.pingAfterMilliseconds && !connection.pingSent {
                    connection.pingSent = true
                    session.ping()
                }
            case .closed:
                if now > connection.httpDeadline { connection.stream.close() }
            }
        }
    }

    /// Whether the message arriving on `connection` began more than
    /// ``WebSocketServerConfiguration/messageTimeoutMilliseconds`` ago and has come slower than
    /// ``WebSocketServerConfiguration/minMessageBytesPerSecond`` since: a peer trickling a large
    /// message a byte at a time would otherwise hold its memory for as long as it likes, while a
    /// long message over a very poor link still arrives.
    private func tookTooLong(_ connection: WebSocketConnection, _ session: WebSocketSession, now: UInt64) -> Bool {
        guard session.isPartwayThroughAMessage else {
            connection.messageStartedAt = nil
            return false
        }
        guard let started = connection.messageStartedAt else {
            connection.messageStartedAt = (now, connection.bytesRead)
            return false
        }
        let elapsed = now &- started.at
        guard elapsed > configuration.messageTimeoutMilliseconds else { return false }
        return (connection.bytesRead - started.bytesRead) * 1000 < Int(elapsed) * configuration.minMessageBytesPerSecond
    }

    /// The client behind a trusted proxy is the last address its `X-Forwarded-For` lists (the one
    /// the proxy itself added), all of the header's lines taken as one list: a proxy that appends
    /// a line of its own after the client's leaves the client's words first, never last. Anyone
    /// else is their own peer address.
    private func clientAddress(of request: HTTPMessage, on connection: WebSocketConnection) -> [UInt8] {
        guard connection.fromProxy else { return connection.peerAddress }
        guard let forwarded = request.headerList("X-Forwarded-For")?.split(separator: ",").last else { return [] }
        return IPAddress.bytes(String(forwarded)) ?? []
    }

    /// The peer's IP address; none for a Unix-domain socket (the proxy's, which names the client).
    private static func peerAddress(of stream: SocketStream) -> [UInt8] {
        guard !stream.isUnixDomain else { return [] }
        var storage = sockaddr_storage()
        var length = Int32(MemoryLayout<sockaddr_storage>.size)
        let status = withUnsafeMutablePointer(to: &storage) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { address in
                stream.handle.withMemoryRebound(to: uv_tcp_t.self, capacity: 1) { uv_tcp_getpeername($0, address, &length) }
            }
        }
        guard status == 0 else { return [] }
        let isIPv6 = Int32(storage.ss_family) == AF_INET6
        return withUnsafePointer(to: &storage) { pointer -> [UInt8] in
            if isIPv6 {
                return pointer.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { address in
                    withUnsafeBytes(of: address.pointee.sin6_addr) { Array($0) }
                }
            }
            return pointer.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { address in
                withUnsafeBytes(of: address.pointee.sin_addr) { Array($0) }
            }
        }
    }
}
