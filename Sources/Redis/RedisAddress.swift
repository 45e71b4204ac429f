import Foundation

/// Where a Redis server listens (a TCP host and port, or a Unix socket), and the password it
/// asks for, if any.
public struct RedisAddress: Sendable, Equatable, CustomStringConvertible {
    /// How to reach the server.
    public enum Endpoint: Sendable, Equatable {
        case tcp(host: String, port: Int)
        case unix(path: String)
    }

    public var endpoint: Endpoint
    /// The user name for Redis ACLs (nil: the default user).
    public var user: String?
    /// The password `AUTH` sends after connecting (nil: none).
    public var password: String?

    /// An address with no password.
    public static func tcp(host: String, port: Int) -> RedisAddress { RedisAddress(endpoint: .tcp(host: host, port: port)) }

    /// A Unix socket with no password.
    public static func unix(path: String) -> RedisAddress { RedisAddress(endpoint: .unix(path: path)) }

    /// An address from its parts.
    public init(endpoint: Endpoint, user: String? = nil, password: String? = nil) {
        self.endpoint = endpoint
        self.user = user
        self.password = password
    }

    /// Reads `redis://[[user]:password@]host[:port]` (port 6379 by default), `unix:///path` or an
    /// absolute path.
    ///
    /// - Throws: ``RedisError/invalidAddress(_:)`` (naming no password).
    public init(_ text: String) throws(RedisError) {
        if text.hasPrefix("/") {
            self.init(endpoint: .unix(path: text))
        } else if text.hasPrefix("unix://"), text.count > 7 {
            self.init(endpoint: .unix(path: String(text.dropFirst(7))))
        } else if text.hasPrefix("redis://"), let components = URLComponents(string: text), let host = components.host, !host.isEmpty {
            let user = components.user.flatMap { $0.isEmpty ? nil : $0 }
            self.init(endpoint: .tcp(host: host, port: components.port ?? 6379), user: user, password: components.password)
        } else {
            throw RedisError.invalidAddress(text.contains("@") ? "(an address with a password)" : text)
        }
    }

    /// The server, never the password.
    public var description: String {
        switch endpoint {
        case .tcp(let host, let port): "redis://\(host):\(port)"
        case .unix(let path): path
        }
    }
}
