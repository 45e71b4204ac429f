import Foundation
import HavenNet
import HavenTestSupport
import Testing

@Suite struct HTTPServerTests {
    func response(_ request: String, configure: (inout WebSocketServerConfiguration) -> Void = { _ in }) throws -> String {
        let server = try EchoServer(configure: configure)
        defer { server.stop() }
        let socket = try RawSocket(port: server.port)
        socket.send(request)
        return String(decoding: socket.readToEnd(), as: UTF8.self)
    }

    @Test func plainRequestIsAnsweredAndKeepAliveServesTwo() throws {
        let server = try EchoServer()
        defer { server.stop() }
        let socket = try RawSocket(port: server.port)
        socket.send("GET /hello HTTP/1.1\r\nHost: x\r\n\r\nGET /hello HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        let text = String(decoding: socket.readToEnd(), as: UTF8.self)
        #expect(text.components(separatedBy: "HTTP/1.1 200 OK").count == 3)
        #expect(text.hasSuffix("hello"))
    }

    @Test func aClientThatAsksAndNeverReadsHoldsOneAnswerNotAPile() async throws {
        let server = try EchoServer()
        defer { server.stop() }
        let greedy = try RawSocket(port: server.port)
        greedy.shrinkReceiveBuffer()
        greedy.send(String(repeating: "GET /big HTTP/1.1\r\nHost: x\r\n\r\n", count: 100))
        _ = try await waitFor("the first answer", timeout: 30) { server.requestsAnswered >= 1 ? true : nil }
        // A round trip on another connection: the server has taken in what it was sent before.
        let other = try RawSocket(port: server.port)
        other.send("GET /hello HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        #expect(String(decoding: other.readToEnd(), as: UTF8.self).hasSuffix("hello"))
        // The kernel's socket buffers take a few answers; the server's memory holds at most one.
        #expect(server.requestsAnswered < 10, "\(server.requestsAnswered) MB of answers queued for a client that reads none of them")

        #expect(greedy.read(atLeast: 16).starts(with: Array("HTTP/1.1 200 OK".utf8)), "the answers are there to read, in order")
    }

    @Test func aThousandPipelinedRequestsAreAnsweredInTurnWithoutExhaustingTheStack() throws {
        let server = try EchoServer()
        defer { server.stop() }
        let socket = try RawSocket(port: server.port)
        // 200 were enough to overflow the loop's stack when each answer led straight to the next.
        socket.send(String(repeating: "GET /hello HTTP/1.1\r\nHost: x\r\n\r\n", count: 999) + "GET /hello HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        let answers = String(decoding: socket.readToEnd(), as: UTF8.self).components(separatedBy: "HTTP/1.1 200 OK").count - 1
        #expect(answers == 1_000)
    }

    @Test func pastItsMostConnectionsTheServerLetsTheLongestSilentOneGoButNeverAWebSocket() throws {
        let server = try EchoServer { $0.maxConnections = 3 }
        defer { server.stop() }
        /// A connection upgraded to a WebSocket, once the server has said so.
        func webSocket() throws -> RawSocket? {
            let socket = try RawSocket(port: server.port)
            socket.send(RawSocket.upgradeRequest(origin: "https://provider.example"))
            return String(decoding: socket.read(atLeast: 12), as: UTF8.self).hasPrefix("HTTP/1.1 101") ? socket : nil
        }
        let silent = try RawSocket(port: server.port)
        let open = try [webSocket(), webSocket()].compactMap { $0 }
        #expect(open.count == 2)

        // A fourth connection takes the place of the one that has said nothing.
        let extra = try RawSocket(port: server.port)
        extra.send("GET /hello HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        #expect(String(decoding: extra.readToEnd(), as: UTF8.self).hasSuffix("hello"))
        #expect(silent.readToEnd().isEmpty, "the silent connection was kept")

        // With every place a WebSocket, a new connection is the one turned away.
        let deadline = Date().addingTimeInterval(30)
        var third: RawSocket?
        while third == nil, Date() < deadline { third = try webSocket() }
        #expect(third != nil, "no place came free after the plain request closed")
        let late = try RawSocket(port: server.port)
        late.send("GET /hello HTTP/1.1\r\nHost: x\r\n\r\n")
        #expect(late.readToEnd().isEmpty, "a WebSocket was cut for a newcomer")
        _ = open
    }

    @Test func malformedRequestGets400WithAJSONError() throws {
        let text = try response("BLAH\r\n\r\n")
        #expect(text.hasPrefix("HTTP/1.1 400 Bad Request"))
        #expect(text.contains(#""error":"bad_request""#))
    }

    @Test func longTargetGets414() throws {
        let text = try response("GET /\(String(repeating: "a", count: 9000)) HTTP/1.1\r\n\r\n")
        #expect(text.hasPrefix("HTTP/1.1 414"))
    }

    @Test func tooManyHeadersGet431() throws {
        let headers = (0..<80).map { "X-\($0): 1\r\n" }.joined()
        let text = try response("GET /hello HTTP/1.1\r\n\(headers)\r\n")
        #expect(text.hasPrefix("HTTP/1.1 431"))
    }

    @Test func oversizedHeaderGets431() throws {
        let text = try response("GET /hello HTTP/1.1\r\nX-Big: \(String(repeating: "b", count: 20_000))\r\n\r\n")
        #expect(text.hasPrefix("HTTP/1.1 431"))
    }

    @Test func oversizedBodyGets413() throws {
        let text = try response("POST /hello HTTP/1.1\r\nContent-Length: 20000000\r\n\r\nabc")
        #expect(text.hasPrefix("HTTP/1.1 413"))
        #expect(text.contains("body_too_large"))
    }

    @Test func silentConnectionIsClosedAfterTheHandshakeTimeout() throws {
        let server = try EchoServer { $0.handshakeTimeoutMilliseconds = 300 }
        defer { server.stop() }
        let socket = try RawSocket(port: server.port)
        socket.send("GET /hello HTTP/1.1\r\n")
        #expect(socket.readToEnd().isEmpty)
    }
}
