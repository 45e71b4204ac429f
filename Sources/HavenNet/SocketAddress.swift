import CUV
import Foundation

/// Parses numeric IPv4 and IPv6 addresses with libuv (no name resolution: Haven listens on and
/// connects to addresses, so a slow resolver never blocks the loop).
enum SocketAddress {
    static func parse(host: String, port: Int, into storage: inout sockaddr_storage) throws(UVError) {
        guard (0...65535).contains(port) else { throw UVError(code: -22, function: "uv_ip_addr") }
        let status = withUnsafeMutablePointer(to: &storage) { pointer -> Int32 in
            if host.contains(":") {
                return pointer.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { uv_ip6_addr(host, Int32(port), $0) }
            }
            return pointer.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { uv_ip4_addr(host, Int32(port), $0) }
        }
        guard status == 0 else { throw UVError(code: status, function: "uv_ip_addr") }
    }
}

/// An IP address as its raw bytes (4 for IPv4, 16 for IPv6), as a peer's is kept.
public enum IPAddress {
    /// The bytes of a numeric address ("203.0.113.9", "2001:db8::1"), or nil if it is not one.
    public static func bytes(_ text: String) -> [UInt8]? {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        var storage = sockaddr_storage()
        guard (try? SocketAddress.parse(host: trimmed, port: 0, into: &storage)) != nil else { return nil }
        return withUnsafePointer(to: &storage) { pointer -> [UInt8] in
            if trimmed.contains(":") {
                return pointer.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { address in withUnsafeBytes(of: address.pointee.sin6_addr) { Array($0) } }
            }
            return pointer.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { address in withUnsafeBytes(of: address.pointee.sin_addr) { Array($0) } }
        }
    }

    /// The network an address stands for in per-address limits: an IPv4 address itself (also when
    /// IPv4-mapped), an IPv6 address's /64 (a client usually holds a whole /64, and could hop
    /// between addresses in it).
    public static func network(of address: [UInt8]) -> [UInt8] {
        guard address.count == 16 else { return address }
        if address[0..<12].elementsEqual([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF]) { return Array(address[12...]) }
        return Array(address.prefix(8))
    }
}
