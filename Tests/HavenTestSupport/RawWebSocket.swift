import Foundation
public import HavenNet
public import HavenProtocol
public import Sodium

/// A WebSocket client that sends and records raw text frames, for tests of what a misbehaving
/// client can do. Everything runs on the given loop; the recorded frames can be read from any thread.
public final class RawWebSocket: @unchecked Sendable {
    // @unchecked Sendable: `connection` is touched only on the loop thread; `received` and
    // `closeCode` are guarded by `lock`.
    private let lock = NSLock()
    private var received: [String] = []
    private var closed: UInt16?? = nil
    private var connection: WebSocketClientConnection?
    private let loop: EventLoop

    private init(loop: EventLoop) { self.loop = loop }

    /// Connects to `port` on loopback.
    public static func connect(port: Int, loop: EventLoop) async throws -> RawWebSocket {
        let socket = RawWebSocket(loop: loop)
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            loop.execute {
                WebSocketClientConnection.connect(loop: loop, host: "127.0.0.1", port: port) { result in
                    switch result {
                    case .failure(let error): continuation.resume(throwing: error)
                    case .success(let connection):
                        socket.connection = connection
                        connection.onText = { text in socket.lock.withLock { socket.received.append(String(decoding: text, as: UTF8.self)) } }
                        connection.onClose = { code in socket.lock.withLock { socket.closed = .some(code) } }
                        continuation.resume()
                    }
                }
            }
        }
        return socket
    }

    /// Sends one text frame.
    public func send(_ text: String) {
        let bytes = Array(text.utf8)
        loop.execute { self.connection?.send(text: bytes) }
    }

    /// Sends text frames all in one turn of the loop, so they go out (and usually arrive) together.
    public func send(_ texts: [String]) {
        let frames = texts.map { Array($0.utf8) }
        loop.execute { frames.forEach { self.connection?.send(text: $0) } }
    }

    /// Stops reading (a client that does not keep up).
    public func stopReading() {
        loop.execute { self.connection?.stopReading() }
    }

    /// Resumes reading after ``stopReading()``.
    public func resumeReading() {
        loop.execute { self.connection?.resumeReading() }
    }

    /// Drops the connection without a close handshake.
    public func abort() {
        loop.execute { self.connection?.abort() }
    }

    /// The frames received so far.
    public var frames: [String] { lock.withLock { received } }

    /// The close code, once closed (nil inside: closed without one).
    public var closeCode: UInt16?? { lock.withLock { closed } }

    /// Waits for a received frame containing `fragment`.
    public func waitForFrame(containing fragment: String, timeout: Double = 30) async throws -> String {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if let frame = frames.first(where: { $0.contains(fragment) }) { return frame }
            try await Task.sleep(for: .milliseconds(10))
        }
        // A last look: a test thread kept busy past the deadline must not miss what came meanwhile.
        if let frame = frames.first(where: { $0.contains(fragment) }) { return frame }
        throw TimedOut(what: "a frame containing \(fragment)")
    }

    /// Waits until the connection closes and returns the server's close code.
    public func waitForClose(timeout: Double = 30) async throws -> UInt16? {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if let code = closeCode { return code }
            try await Task.sleep(for: .milliseconds(10))
        }
        if let code = closeCode { return code }
        throw TimedOut(what: "the connection to close")
    }

    /// The challenge the server sent.
    public func challenge() async throws -> AuthChallenge {
        let text = try await waitForFrame(containing: #""type":"challenge""#)
        guard case .challenge(let challenge) = try FrameCodec.decode(Array(text.utf8)) else { throw TimedOut(what: "a challenge") }
        return challenge
    }

    /// Connects to `server`, logs in as a new identity, and waits for the welcome.
    public static func loggedIn(to server: TestServer, loop: EventLoop) async throws -> (RawWebSocket, SigningKeyPair) {
        let socket = try await connect(port: server.port, loop: loop)
        return (socket, try await socket.logIn())
    }

    /// Logs in as a new identity on `server`, joins `room`, and waits for its `synced`.
    public static func joined(_ room: RoomID, on server: TestServer, loop: EventLoop) async throws -> (RawWebSocket, SigningKeyPair) {
        let (socket, identity) = try await loggedIn(to: server, loop: loop)
        try await socket.join(room)
        return (socket, identity)
    }

    /// The room messages received so far, in the order they came.
    public var roomMessages: [EnvelopeFrame] {
        frames.compactMap { text in
            guard case .message(let frame)? = try? FrameCodec.decode(Array(text.utf8)) else { return nil }
            return frame
        }
    }

    /// Logs in as a new identity and waits for the welcome.
    public func logIn() async throws -> SigningKeyPair {
        let identity = try SigningKeyPair.generate()
        let challenge = try await challenge()
        send(String(decoding: FrameCodec.encode(.auth(challenge.respond(identity: identity, displayName: "Raw"))), as: UTF8.self))
        _ = try await waitForFrame(containing: #""type":"welcome""#)
        return identity
    }

    /// Joins `room` and waits for its `synced`.
    public func join(_ room: RoomID) async throws {
        send(String(decoding: FrameCodec.encode(.join(JoinRequest(room: room))), as: UTF8.self))
        _ = try await waitForFrame(containing: #""type":"synced""#)
    }
}
