import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A blocking loopback TCP socket for sending exactly the bytes a test wants, malformed or not.
public final class RawSocket: Sendable {
    private let descriptor: Int32

    /// Connects to `port` on 127.0.0.1; a read waits at most `timeoutSeconds` for bytes.
    public init(port: Int, timeoutSeconds: Int = 10) throws {
        descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = UInt16(port).bigEndian
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var timeout = timeval(tv_sec: timeoutSeconds, tv_usec: 0)
        setsockopt(descriptor, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        let status = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard status == 0 else { throw POSIXError(.ECONNREFUSED) }
    }

    /// Connects to the Unix-domain socket at `path`.
    public init(unixPath path: String) throws {
        descriptor = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: Array(path.utf8).prefix($0.count - 1)) }
        var timeout = timeval(tv_sec: 10, tv_usec: 0)
        setsockopt(descriptor, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        let status = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard status == 0 else { throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .ECONNREFUSED) }
    }

    deinit { Glibc.close(descriptor) }

    /// Sends every byte.
    public func send(_ bytes: [UInt8]) {
        var offset = 0
        while offset < bytes.count {
            let sent = bytes[offset...].withUnsafeBytes { Glibc.send(descriptor, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            guard sent > 0 else { return }
            offset += sent
        }
    }

    /// Hangs up: the peer reads the end of the stream (the descriptor itself closes with this object).
    public func close() {
        Glibc.shutdown(descriptor, Int32(SHUT_RDWR))
    }

    /// Sends the UTF-8 bytes of `text`.
    public func send(_ text: String) { send(Array(text.utf8)) }

    /// Reads until the peer closes (or the 10 s timeout), returning everything received.
    public func readToEnd() -> [UInt8] {
        var result: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let count = buffer.withUnsafeMutableBytes { recv(descriptor, $0.baseAddress, $0.count, 0) }
            guard count > 0 else { return result }
            result += buffer[0..<count]
        }
    }

    /// Reads until the peer closes, returning everything received; nil when 10 s pass first.
    public func readUntilPeerCloses() -> [UInt8]? {
        var result: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let count = buffer.withUnsafeMutableBytes { recv(descriptor, $0.baseAddress, $0.count, 0) }
            if count == 0 { return result }
            guard count > 0 else { return errno == EAGAIN || errno == EWOULDBLOCK ? nil : result }
            result += buffer[0..<count]
        }
    }

    /// Reads at least `count` bytes (or until close/timeout).
    public func read(atLeast count: Int) -> [UInt8] {
        var result: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        while result.count < count {
            let received = buffer.withUnsafeMutableBytes { recv(descriptor, $0.baseAddress, $0.count, 0) }
            guard received > 0 else { return result }
            result += buffer[0..<received]
        }
        return result
    }

    /// Reads what has arrived, up to `limit` bytes, waiting for something if nothing has; empty
    /// once the peer has closed (or after the 10 s timeout).
    public func read(upTo limit: Int) -> [UInt8] {
        var buffer = [UInt8](repeating: 0, count: limit)
        let received = buffer.withUnsafeMutableBytes { recv(descriptor, $0.baseAddress, $0.count, 0) }
        return received > 0 ? Array(buffer[0..<received]) : []
    }

    /// Sets the kernel receive buffer small, so a reader that stops reading backs up quickly.
    public func shrinkReceiveBuffer() {
        var size: Int32 = 4096
        setsockopt(descriptor, SOL_SOCKET, SO_RCVBUF, &size, socklen_t(MemoryLayout<Int32>.size))
    }

    /// The upgrade request a browser would send.
    public static func upgradeRequest(path: String = "/v1/ws", origin: String? = nil, version: String = "13", extra: String = "") -> String {
        var text = "GET \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            + "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: \(version)\r\n"
        if let origin { text += "Origin: \(origin)\r\n" }
        return text + extra + "\r\n"
    }

    /// A masked client frame, built by hand so tests can send what wslay would never produce.
    public static func clientFrame(opcode: UInt8, payload: [UInt8], fin: Bool = true) -> [UInt8] {
        let mask: [UInt8] = [1, 2, 3, 4]
        return frameHeader(opcode: opcode, length: payload.count, fin: fin, masked: true)
            + mask + payload.enumerated().map { $1 ^ mask[$0 % 4] }
    }

    /// An unmasked frame, as a server sends it (RFC 6455 §5.2).
    public static func serverFrame(opcode: UInt8, payload: [UInt8]) -> [UInt8] {
        frameHeader(opcode: opcode, length: payload.count, fin: true, masked: false) + payload
    }

    private static func frameHeader(opcode: UInt8, length: Int, fin: Bool, masked: Bool) -> [UInt8] {
        let maskBit: UInt8 = masked ? 0x80 : 0
        var header: [UInt8] = [(fin ? 0x80 : 0) | opcode]
        if length < 126 {
            header.append(maskBit | UInt8(length))
        } else if length <= 0xFFFF {
            header += [maskBit | 126, UInt8(length >> 8), UInt8(length & 0xFF)]
        } else {
            header.append(maskBit | 127)
            header += (0..<8).reversed().map { UInt8(truncatingIfNeeded: UInt64(length) >> ($0 * 8)) }
        }
        return header
    }

    /// The close code in a server close frame found in `bytes` (after the 101 response), if any.
    public static func closeCode(in bytes: [UInt8]) -> UInt16? {
        guard let headerEnd = bytes.firstRange(of: Array("\r\n\r\n".utf8))?.upperBound else { return nil }
        var index = headerEnd
        while index + 2 <= bytes.count {
            let opcode = bytes[index] & 0x0F
            var length = Int(bytes[index + 1] & 0x7F)
            var start = index + 2
            if length == 126 {
                length = Int(bytes[index + 2]) << 8 | Int(bytes[index + 3])
                start += 2
            }
            if opcode == 0x8, start + 2 <= bytes.count {
                return UInt16(bytes[start]) << 8 | UInt16(bytes[start + 1])
            }
            index = start + length
        }
        return nil
    }
}
