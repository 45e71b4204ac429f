import Foundation

/// Where a Redis server listens: a TCP host and port, or a Unix socket.
public enum RedisAddress: Sendable, Equatable, CustomStringConvertible {
    case tcp(host: String, port: Int)
    case unix(path: String)

    /// Reads `redis://host[:port]` (port 6379 by default), `unix:///path` or an absolute path.
    ///
    /// - Throws: ``RedisError/invalidAddress(_:)``.
    public init(_ text: String) throws(RedisError) {
        if text.hasPrefix("/") {
            self = .unix(path: text)
        } else if text.hasPrefix("unix://"), text.count > 7 {
            self = .unix(path: String(text.dropFirst(7)))
        } else if text.hasPrefix("redis://"), let components = URLComponents(string: text), let host = components.host, !host.isEmpty {
            self = .tcp(host: host, port: components.port ?? 6379)
        } else {
            throw RedisError.invalidAddress(text)
        }
    }

    public var description: String {
        switch self {
        case .tcp(let host, let port): "redis://\(host):\(port)"
        case .unix(let path): path
        }
    }
}
