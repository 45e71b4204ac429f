import Foundation
@testable import HavenNet

/// A WebSocket server on loopback that echoes text and answers GET /hello, for HavenNet tests.
final class EchoServer: WebSocketServerDelegate, @unchecked Sendable {
    // @unchecked Sendable: all state is touched on the loop thread only; tests read `port`
    // after start() returned.
    let loop: EventLoop
    private(set) var port = 0
    private var server: WebSocketServer?
    private let answered = NSLock()
    private var answeredCount = 0

    /// Plain HTTP requests answered so far.
    var requestsAnswered: Int { answered.withLock { answeredCount } }

    init(configure: (inout WebSocketServerConfiguration) -> Void = { _ in }) throws {
        loop = try EventLoop()
        loop.start()
        var configuration = WebSocketServerConfiguration()
        configuration.port = 0
        configuration.allowedOrigins = ["https://provider.example"]
        configure(&configuration)
        let captured = configuration
        port = try loop.submitAndWait { [self] in
            let server = try WebSocketServer(loop: loop, configuration: captured, delegate: self)
            self.server = server
            loop.onShutdown { server.shutdown() }
            return server.port
        }
    }

    func stop() { loop.shutdown() }

    /// WebSocket sessions holding wslay's framing context now.
    func framingContexts() throws -> Int {
        try loop.submitAndWait { [self] in server?.figures.framingContexts ?? 0 }
    }

    func respond(to request: HTTPMessage, from peer: [UInt8], reply: @escaping (HTTPResponse) -> Void) {
        answered.withLock { answeredCount += 1 }
        switch request.path {
        case "/hello": reply(HTTPResponse(status: 200, body: Array("hello".utf8)))
        case "/big": reply(HTTPResponse(status: 200, body: [UInt8](repeating: 0x62, count: 1024 * 1024)))
        default: reply(HTTPResponse(status: 404))
        }
    }

    /// Every WebSocket session opened so far, held weakly: each should be freed once its
    /// connection is gone.
    private(set) var sessionsOpened: [WeakSession] = []

    struct WeakSession {
        weak var session: WebSocketSession?
    }

    func opened(_ connection: WebSocketConnection) {
        guard case .webSocket(let session) = connection.phase else { return }
        sessionsOpened.append(WeakSession(session: session))
    }

    /// Sessions opened and not yet freed.
    func sessionsAlive() throws -> Int {
        try loop.submitAndWait { [self] in sessionsOpened.filter { $0.session != nil }.count }
    }

    func received(_ text: UnsafeRawBufferPointer, from connection: WebSocketConnection) {
        guard let server else { return }
        let message = Array(text)
        if message == Array("flood".utf8) {
            let big = server.frames.textFrame([UInt8](repeating: 0x61, count: 60_000))
            for _ in 0..<1000 where connection.send(frame: big) {}
            return
        }
        connection.send(frame: server.frames.textFrame(message))
    }

    func closed(_ connection: WebSocketConnection) {}
}
