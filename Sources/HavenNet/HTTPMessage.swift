/// A parsed HTTP/1.1 request or response head (and body, for requests that have one).
public struct HTTPMessage: Sendable, Equatable {
    /// The request method ("GET"), or empty for a response.
    public var method: String = ""
    /// The request target ("/v1/ws?x=1"), or empty for a response.
    public var target: String = ""
    /// The response status code, or 0 for a request.
    public var status: Int = 0
    /// Header fields in order, names as sent.
    public var headers: [(name: String, value: String)] = []
    /// The body bytes.
    public var body: [UInt8] = []
    /// True when the connection may carry another request after this one.
    public var keepAlive = false
    /// True when the message asks to switch protocols (`Upgrade`).
    public var isUpgrade = false
    /// True when a trusted proxy says the client reached it over TLS (`X-Forwarded-Proto: https`).
    public var arrivedOverTLS = false

    /// The first value of the header `name`, compared case-insensitively.
    public func header(_ name: String) -> String? {
        headers.first { $0.name.equalsIgnoringASCIICase(name) }?.value
    }

    /// Every value of the header `name`, in order, as one comma-separated list (several lines of
    /// a header are one list, RFC 9110 §5.3); nil when absent.
    public func headerList(_ name: String) -> String? {
        let values = headers.filter { $0.name.equalsIgnoringASCIICase(name) }.map(\.value)
        return values.isEmpty ? nil : values.joined(separator: ",")
    }

    /// The path part of ``target``, without the query.
    public var path: Substring { target.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false).first ?? "" }

    public static func == (lhs: HTTPMessage, rhs: HTTPMessage) -> Bool {
        lhs.method == rhs.method && lhs.target == rhs.target && lhs.status == rhs.status && lhs.body == rhs.body
            && lhs.headers.map(\.name) == rhs.headers.map(\.name) && lhs.headers.map(\.value) == rhs.headers.map(\.value)
            && lhs.keepAlive == rhs.keepAlive && lhs.isUpgrade == rhs.isUpgrade && lhs.arrivedOverTLS == rhs.arrivedOverTLS
    }
}

extension String {
    /// ASCII case-insensitive equality, for header names and tokens.
    func equalsIgnoringASCIICase(_ other: String) -> Bool {
        utf8.count == other.utf8.count && zip(utf8, other.utf8).allSatisfy { asciiLower($0) == asciiLower($1) }
    }
}

private func asciiLower(_ byte: UInt8) -> UInt8 {
    (65...90).contains(byte) ? byte + 32 : byte
}

/// Limits on what an HTTP peer may send before it is refused.
public struct HTTPLimits: Sendable, Equatable {
    /// Longest request target, in bytes (longer: 414).
    public var maxTargetBytes = 8 * 1024
    /// Most header fields (more: 431).
    public var maxHeaderCount = 64
    /// Most bytes of header names and values together (more: 431).
    public var maxHeaderBytes = 16 * 1024
    /// Largest body of an ordinary request (larger: 413); the server may allow more for a request
    /// it has authorized (``WebSocketServerDelegate/bodyAllowance(for:from:)``).
    public var maxBodyBytes = 16 * 1024
    /// Largest body of an authorized upload: room for a 10 MiB encrypted attachment.
    public var maxUploadBytes = 11 * 1024 * 1024

    /// The defaults above.
    public init() {}
}

/// Why an HTTP request was refused, with the status code it is answered with.
public enum HTTPParseError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The bytes are not valid HTTP/1.x (400), with http-parser's reason.
    case malformed(reason: String)
    /// The request target is too long (414).
    case targetTooLong(limit: Int)
    /// Too many header fields (431).
    case tooManyHeaders(limit: Int)
    /// The header fields are too large (431).
    case headersTooLarge(limit: Int)
    /// The body is too large (413).
    case bodyTooLarge(limit: Int)
    /// The server refused the request from its head, before reading a body; `headers` go with
    /// the answer (CORS, so a widget on another origin can read why).
    case refused(status: Int, code: String, message: String, headers: [String: String] = [:])

    /// The HTTP status code to answer with.
    public var status: Int {
        switch self {
        case .malformed: return 400
        case .targetTooLong: return 414
        case .tooManyHeaders, .headersTooLarge: return 431
        case .bodyTooLarge: return 413
        case .refused(let status, _, _, _): return status
        }
    }

    /// A short machine-readable code for the JSON error body.
    public var code: String {
        switch self {
        case .malformed: return "bad_request"
        case .targetTooLong: return "uri_too_long"
        case .tooManyHeaders, .headersTooLarge: return "headers_too_large"
        case .bodyTooLarge: return "body_too_large"
        case .refused(_, let code, _, _): return code
        }
    }

    /// Headers the answer carries.
    public var headers: [String: String] {
        if case .refused(_, _, _, let headers) = self { return headers }
        return [:]
    }

    public var description: String {
        switch self {
        case .malformed(let reason): return "malformed HTTP request: \(reason)"
        case .targetTooLong(let limit): return "request target is longer than \(limit) bytes"
        case .tooManyHeaders(let limit): return "more than \(limit) header fields"
        case .headersTooLarge(let limit): return "header fields are larger than \(limit) bytes"
        case .bodyTooLarge(let limit): return "body is larger than \(limit) bytes"
        case .refused(_, _, let message, _): return message
        }
    }
}

/// How large a body a request may carry, decided from its head before any of the body is read
/// (``WebSocketServerDelegate/bodyAllowance(for:from:)``).
public struct BodyAllowance {
    /// The most bytes the body may have.
    public var maxBytes: Int
    /// Takes the body as it arrives (the bytes are valid only during the call), so a large one
    /// is never held whole in memory; the request then reaches the delegate with an empty body.
    /// With each part comes the connection's ``BodyFlow``, to hold the body back while the part
    /// is being put away. Nil: the body is kept in the request.
    public var receive: ((UnsafeRawBufferPointer, BodyFlow) -> Void)?
    /// Runs once on the loop thread: with true when the body has arrived whole, with false when
    /// the connection ended first (so a budget taken for it can be given back).
    public var whenEnded: ((_ arrived: Bool) -> Void)?

    /// Creates an allowance.
    public init(maxBytes: Int, receive: ((UnsafeRawBufferPointer, BodyFlow) -> Void)? = nil, whenEnded: ((_ arrived: Bool) -> Void)? = nil) {
        self.maxBytes = maxBytes
        self.receive = receive
        self.whenEnded = whenEnded
    }
}

/// Holds back a request body its application takes more slowly than it arrives (each part of an
/// upload written to the store): while paused, the connection is not read, so the client's sending
/// waits in its own buffers instead of the server's memory. Loop thread only.
public final class BodyFlow {
    private let stopReading: () -> Void
    private let startReading: () -> Void
    /// Whether reading is paused.
    public private(set) var isPaused = false

    /// A flow that holds back a body through `stopReading` and `startReading`, each called once
    /// per change (on the loop that reads the body, or one that hands the change over to it).
    public init(stopReading: @escaping () -> Void, startReading: @escaping () -> Void) {
        self.stopReading = stopReading
        self.startReading = startReading
    }

    /// Stops reading the connection until ``resume()``.
    public func pause() {
        guard !isPaused else { return }
        isPaused = true
        stopReading()
    }

    /// Reads the connection again.
    public func resume() {
        guard isPaused else { return }
        isPaused = false
        startReading()
    }
}
