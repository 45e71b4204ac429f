public import HavenNet
public import HavenProtocol

/// Why a ``HavenClient`` call failed.
public enum ClientError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The WebSocket could not be opened.
    case connectFailed(WebSocketClientError)
    /// The server refused the request with an error frame.
    case refused(code: String, message: String)
    /// The connection ended before the call completed.
    case disconnected(closeCode: UInt16?)
    /// The call needs a connection and there is none.
    case notConnected
    /// No epoch key is held for the room yet (wait for ``HavenClient/waitForKey(_:)``).
    case noEpochKey(RoomID)
    /// A local protocol error (e.g. a message too large to seal).
    case invalid(ProtocolError)
    /// The server's challenge names another server than the one this client meant to log in to
    /// (a login relayed from elsewhere); nothing was signed.
    case wrongServer(expected: String)

    public var description: String {
        switch self {
        case .connectFailed(let error): return "\(error)"
        case .refused(let code, let message): return "server refused (\(code)): \(message)"
        case .disconnected(let code): return "disconnected" + (code.map { " (close code \($0))" } ?? "")
        case .notConnected: return "not connected"
        case .noEpochKey(let room): return "no key for room \(room) yet"
        case .invalid(let error): return "\(error)"
        case .wrongServer(let expected): return "the server does not call itself \(expected); not logging in"
        }
    }
}
