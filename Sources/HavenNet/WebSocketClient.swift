/// Why a client could not open a WebSocket.
public enum WebSocketClientError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The TCP connection failed.
    case connectFailed(UVError)
    /// The server answered the upgrade with another status (and a short body, e.g. a JSON error).
    case rejected(status: Int, body: String)
    /// The server's response was not valid HTTP or had the wrong `Sec-WebSocket-Accept`.
    case badHandshake(reason: String)
    /// The connection closed before the handshake finished.
    case closedDuringHandshake
    /// TLS could not be set up or its handshake failed (an untrusted certificate, say).
    case tls(TLSError)

    public var description: String {
        switch self {
        case .connectFailed(let error): return "cannot connect: \(error)"
        case .rejected(let status, let body): return "server refused the WebSocket with HTTP \(status): \(body.prefix(200))"
        case .badHandshake(let reason): return "bad WebSocket handshake: \(reason)"
        case .closedDuringHandshake: return "connection closed during the WebSocket handshake"
        case .tls(let error): return error.description
        }
    }
}

/// The client side of a WebSocket over libuv: connect (with TLS for `wss://`), upgrade, then
/// masked text frames through wslay. Loop thread only.
public final class WebSocketClientConnection {
    /// Called with each complete text message; the bytes are valid only during the call.
    public var onText: (UnsafeRawBufferPointer) -> Void = { _ in }
    /// Called once when the connection is gone, with the close code the server sent (if any).
    public var onClose: (UInt16?) -> Void = { _ in }

    private let stream: any ByteStream
    private var session: WebSocketSession?
    private var parser: HTTPParser?
    private var expectedAccept = ""
    private var pendingOpen: ((Result<WebSocketClientConnection, WebSocketClientError>) -> Void)?
    private let maxMessageBytes: Int

    private init(stream: any ByteStream, maxMessageBytes: Int) {
        self.stream = stream
        self.maxMessageBytes = maxMessageBytes
    }

    /// Connects to `host:port` (over TLS checked by `tls`, when given), upgrades at `path`
    /// (sending `origin` if given), and calls `completion` on the loop thread with the open
    /// connection or the reason it failed.
    public static func connect(
        loop: EventLoop, host: String, port: Int, path: String = "/v1/ws", origin: String? = nil, tls: TLSClientSettings? = nil,
        maxMessageBytes: Int = 1 << 20,
        completion: @escaping (Result<WebSocketClientConnection, WebSocketClientError>) -> Void
    ) {
        if let tls {
            TLSStream.connect(loop: loop, host: host, port: port, settings: tls) { result in
                switch result {
                case .failure(let error as TLSError): completion(.failure(.tls(error)))
                case .failure(let error): completion(.failure(.connectFailed(error as? UVError ?? UVError(code: -22, function: "uv_tcp_connect"))))
                case .success(let stream):
                    let connection = WebSocketClientConnection(stream: stream, maxMessageBytes: maxMessageBytes)
                    connection.start(host: "\(tls.serverName):\(port)", path: path, origin: origin, completion: completion)
                }
            }
            return
        }
        SocketStream.connect(loop: loop, to: .tcp(host: host, port: port)) { result in
            switch result {
            case .failure(let error):
                completion(.failure(.connectFailed(error)))
            case .success(let stream):
                let connection = WebSocketClientConnection(stream: stream, maxMessageBytes: maxMessageBytes)
                connection.start(host: "\(host):\(port)", path: path, origin: origin, completion: completion)
            }
        }
    }

    private func start(
        host: String, path: String, origin: String?,
        completion: @escaping (Result<WebSocketClientConnection, WebSocketClientError>) -> Void
    ) {
        let (request, key) = WebSocketHandshake.clientRequest(host: host, path: path, origin: origin)
        expectedAccept = WebSocketHandshake.acceptValue(forKey: key)
        parser = HTTPParser(kind: .response)
        pendingOpen = completion
        // The stream's callbacks hold the connection strongly until the stream closes.
        stream.onRead = { [self] bytes in read(bytes) }
        stream.onClose = { [self] in
            if let pendingOpen {
                self.pendingOpen = nil
                pendingOpen(.failure(.closedDuringHandshake))
            } else {
                onClose(session?.closeCodeReceived)
            }
            onText = { _ in }
            onClose = { _ in }
            session = nil
        }
        stream.startReading()
        stream.write(OutboundBytes(request))
    }

    private func read(_ bytes: UnsafeRawBufferPointer) {
        if let session {
            session.receive(bytes)
            return
        }
        guard let parser else { return }
        do {
            guard case .complete(let response, let consumed) = try parser.feed(bytes) else { return }
            self.parser = nil
            try open(response)
            if consumed < bytes.count { session?.receive(UnsafeRawBufferPointer(rebasing: bytes[consumed...])) }
        } catch let error as WebSocketClientError {
            fail(error)
        } catch {
            fail(.badHandshake(reason: "\(error)"))
        }
    }

    private func open(_ response: HTTPMessage) throws {
        guard response.status == 101 else {
            throw WebSocketClientError.rejected(status: response.status, body: String(decoding: response.body, as: UTF8.self))
        }
        guard response.header("Sec-WebSocket-Accept") == expectedAccept else {
            throw WebSocketClientError.badHandshake(reason: "Sec-WebSocket-Accept does not match the key")
        }
        let session = WebSocketSession(role: .client, stream: stream, maxMessageBytes: maxMessageBytes)
        session.onText = { [unowned self] text in onText(text) }
        self.session = session
        let completion = pendingOpen
        pendingOpen = nil
        completion?(.success(self))
    }

    private func fail(_ error: WebSocketClientError) {
        let completion = pendingOpen
        pendingOpen = nil
        stream.close()
        completion?(.failure(error))
    }

    /// Sends one text message.
    public func send(text: some Collection<UInt8>) {
        session?.send(text: text)
    }

    /// Starts the close handshake.
    public func close(_ code: WebSocketCloseCode = .normal) {
        session?.close(code)
    }

    /// Drops the TCP connection without a close handshake (for tests of abrupt disconnects).
    public func abort() {
        stream.close()
    }

    /// Bytes queued to the server and not yet written.
    public var queuedBytes: Int { stream.queuedBytes }

    /// Stops reading from the server (a client that stops reading, for backpressure tests).
    public func stopReading() {
        stream.stopReading()
    }

    /// Resumes reading after ``stopReading()``.
    public func resumeReading() {
        stream.startReading()
    }
}
