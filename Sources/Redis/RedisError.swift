/// Every way a Redis call fails.
public enum RedisError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The server could not be reached, or the connection dropped.
    case connectionFailed(reason: String)
    /// The address is not `redis://host:port` or a Unix socket's path.
    case invalidAddress(String)

    public var description: String {
        switch self {
        case .connectionFailed(let reason): "cannot reach Redis: \(reason)"
        case .invalidAddress(let text): "not a Redis address (redis://host:port or a socket's path): \(text)"
        }
    }
}
