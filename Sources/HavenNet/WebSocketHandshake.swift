import Foundation

/// RFC 6455 opening handshake: checks an upgrade request, computes `Sec-WebSocket-Accept`, and
/// builds the client's request. Pure functions over ``HTTPMessage``; no I/O.
public enum WebSocketHandshake {
    static let guid = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

    /// Why an upgrade request is refused, with the HTTP status it is answered with.
    public enum Rejection: Error, Equatable, Sendable, CustomStringConvertible {
        /// Not a valid WebSocket upgrade (400).
        case notAnUpgrade(reason: String)
        /// A WebSocket version other than 13 (426, with `Sec-WebSocket-Version: 13`).
        case unsupportedVersion
        /// The `Origin` is not among the allowed origins (403): cross-site WebSocket hijacking.
        case originNotAllowed

        /// The HTTP status code.
        public var status: Int {
            switch self {
            case .notAnUpgrade: return 400
            case .unsupportedVersion: return 426
            case .originNotAllowed: return 403
            }
        }

        /// A short machine-readable code for the JSON error body.
        public var code: String {
            switch self {
            case .notAnUpgrade: return "bad_upgrade"
            case .unsupportedVersion: return "unsupported_websocket_version"
            case .originNotAllowed: return "origin_not_allowed"
            }
        }

        public var description: String {
            switch self {
            case .notAnUpgrade(let reason): return "not a WebSocket upgrade: \(reason)"
            case .unsupportedVersion: return "only WebSocket version 13 is supported"
            case .originNotAllowed: return "this origin may not open a WebSocket here"
            }
        }
    }

    /// Validates `request` as a WebSocket upgrade and returns the `Sec-WebSocket-Accept` value.
    ///
    /// `allowedOrigins` lists exact origins (`https://provider.example`); `"*"` allows any. The
    /// server's own origin (the widget it serves, matched against `Host`) is always allowed, and
    /// so is a request without `Origin` (not from a browser): the check exists to stop other web
    /// pages from using a visitor's browser.
    public static func accept(_ request: HTTPMessage, allowedOrigins: [String]) throws(Rejection) -> String {
        guard request.method == "GET" else { throw .notAnUpgrade(reason: "method must be GET") }
        guard let upgrade = request.header("Upgrade"), upgrade.equalsIgnoringASCIICase("websocket") else {
            throw .notAnUpgrade(reason: "Upgrade header must be websocket")
        }
        guard let connection = request.header("Connection"),
              connection.split(separator: ",").contains(where: {
                  $0.trimmingCharacters(in: .whitespaces).equalsIgnoringASCIICase("upgrade")
              })
        else { throw .notAnUpgrade(reason: "Connection header must include upgrade") }
        guard request.header("Sec-WebSocket-Version")?.trimmingCharacters(in: .whitespaces) == "13" else {
            throw .unsupportedVersion
        }
        guard let key = request.header("Sec-WebSocket-Key")?.trimmingCharacters(in: .whitespaces),
              Data(base64Encoded: key)?.count == 16
        else { throw .notAnUpgrade(reason: "Sec-WebSocket-Key must be 16 bytes in base64") }
        if let origin = request.header("Origin"), !allowedOrigins.contains("*"), !allowedOrigins.contains(origin),
           !isSameOrigin(origin, host: request.header("Host")) {
            throw .originNotAllowed
        }
        return acceptValue(forKey: key)
    }

    private static func isSameOrigin(_ origin: String, host: String?) -> Bool {
        guard let host, !host.isEmpty else { return false }
        return origin == "http://\(host)" || origin == "https://\(host)"
    }

    /// base64(SHA-1(key + GUID)), as RFC 6455 §4.2.2 defines.
    public static func acceptValue(forKey key: String) -> String {
        Data(SHA1.digest(Array((key + guid).utf8))).base64EncodedString()
    }

    /// The `101 Switching Protocols` response for an accepted key.
    public static func switchingProtocolsResponse(accept: String) -> [UInt8] {
        Array(("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            + "Sec-WebSocket-Accept: \(accept)\r\n\r\n").utf8)
    }

    /// A client's upgrade request for `path` on `host`, with a fresh random key.
    public static func clientRequest(host: String, path: String, origin: String?) -> (request: [UInt8], key: String) {
        var generator = SystemRandomNumberGenerator()
        let key = Data((0..<16).map { _ in UInt8.random(in: 0...255, using: &generator) }).base64EncodedString()
        var text = "GET \(path) HTTP/1.1\r\nHost: \(host)\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            + "Sec-WebSocket-Key: \(key)\r\nSec-WebSocket-Version: 13\r\n"
        if let origin { text += "Origin: \(origin)\r\n" }
        return (Array((text + "\r\n").utf8), key)
    }
}
