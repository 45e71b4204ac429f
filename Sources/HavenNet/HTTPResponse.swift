import Foundation

/// An HTTP/1.1 response to write: status, headers and body.
public struct HTTPResponse: Sendable, Equatable {
    /// The status code.
    public var status: Int
    /// Extra header fields (Content-Length, Connection and Cache-Control are added).
    public var headers: [String: String]
    /// The body.
    public var body: [UInt8]
    /// A body too large to hold at once, read part by part instead of ``body``.
    public var streamedBody: StreamedBody?

    /// Creates a response.
    public init(status: Int, headers: [String: String] = [:], body: [UInt8] = []) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    /// Creates a response whose body the server reads part by part
    /// (``WebSocketServerDelegate/readPart(_:of:then:)``), each once the peer has read most of
    /// the one before, so a large answer never sits whole in memory.
    public init(status: Int, headers: [String: String] = [:], streamedBody: StreamedBody) {
        self.init(status: status, headers: headers)
        self.streamedBody = streamedBody
    }

    /// A short JSON error body: `{"error":"code","message":"..."}`, not to be sniffed or run.
    public static func error(status: Int, code: String, message: String, headers: [String: String] = [:]) -> HTTPResponse {
        let body = (try? JSONSerialization.data(withJSONObject: ["error": code, "message": message], options: [.sortedKeys]))
            .map(Array.init) ?? []
        let safe = [
            "Content-Type": "application/json", "X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer",
            "Content-Security-Policy": "default-src 'none'; frame-ancestors 'none'",
        ]
        return HTTPResponse(status: status, headers: headers.merging(safe) { current, _ in current }, body: body)
    }

    /// The bytes on the wire (only the head, for a streamed body); `keepAlive` decides the
    /// `Connection` header.
    public func serialized(keepAlive: Bool) -> [UInt8] {
        var head = "HTTP/1.1 \(status) \(Self.reason(for: status))\r\n"
        for (name, value) in headers.sorted(by: { $0.key < $1.key }) { head += "\(name): \(value)\r\n" }
        head += "Content-Length: \(streamedBody?.length ?? body.count)\r\nCache-Control: no-store\r\n"
        head += keepAlive ? "Connection: keep-alive\r\n\r\n" : "Connection: close\r\n\r\n"
        return Array(head.utf8) + body
    }

    static func reason(for status: Int) -> String {
        switch status {
        case 200: return "OK"
        case 201: return "Created"
        case 204: return "No Content"
        case 400: return "Bad Request"
        case 401: return "Unauthorized"
        case 403: return "Forbidden"
        case 404: return "Not Found"
        case 405: return "Method Not Allowed"
        case 411: return "Length Required"
        case 413: return "Content Too Large"
        case 414: return "URI Too Long"
        case 426: return "Upgrade Required"
        case 429: return "Too Many Requests"
        case 431: return "Request Header Fields Too Large"
        case 503: return "Service Unavailable"
        case 507: return "Insufficient Storage"
        default: return "Status \(status)"
        }
    }
}

/// A response body the application reads part by part as the peer takes it (an attachment kept
/// in the store): its length, and what the application needs to find it again.
public struct StreamedBody: Sendable, Equatable {
    /// The body's length in bytes: the parts together are exactly this long.
    public var length: Int
    /// What identifies the body to the application (an attachment's id).
    public var source: [UInt8]

    /// Creates the description of a streamed body.
    public init(length: Int, source: [UInt8]) {
        self.length = length
        self.source = source
    }
}
