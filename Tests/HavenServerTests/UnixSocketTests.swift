import Foundation
import HavenNet
import HavenServer
import HavenTestSupport
import Testing

/// The server behind a reverse proxy on the same machine listens on a Unix-domain socket: only
/// its user and group may open it (so no other local user can pose as the proxy, or take its
/// place while it restarts, as one could a loopback port), and whoever opens it is the proxy.
@Suite struct UnixSocketTests {
    /// A fresh folder for a socket (its path must stay under 108 bytes).
    func socketPath() throws -> String {
        let folder = "/tmp/haven-sock-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        return folder + "/haven.sock"
    }

    func serve(on path: String, _ configure: (inout ServerConfiguration) -> Void = { _ in }) throws -> TestServer {
        try TestServer {
            $0.network.unixSocketPath = path
            configure(&$0)
        }
    }

    func mode(_ path: String) throws -> Int {
        try #require(try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int)
    }

    @Test func theSocketIsTheProxysAndNamesEachVisitor() async throws {
        let path = try socketPath()
        let server = try serve(on: path) {
            $0.rateLimits.addressConnectionBurst = 2
            $0.rateLimits.addressConnectionsPerSecond = 0.001
        }
        #expect(try mode(path) == 0o660, "only the service's user and group may connect")
        #expect(try HTTPProbe.get(.unix(path: path), path: "/healthz", hostHeader: "haven.test", tls: nil).status == 200)
        let overTLS = try HTTPProbe.get(.unix(path: path), path: "/", hostHeader: "haven.test",
                                        headers: ["X-Forwarded-Proto": "https", "X-Forwarded-For": "203.0.113.7"], tls: nil)
        #expect(overTLS.headers["strict-transport-security"] == "max-age=31536000", "the proxy's word on TLS counts")
        let metrics = try HTTPProbe.get(.unix(path: path), path: "/metrics", hostHeader: "haven.test", headers: ["X-Forwarded-For": "203.0.113.7"], tls: nil)
        #expect(metrics.status == 403, "a visitor the proxy forwards is not this machine")

        func upgrade(from visitor: String) throws -> String {
            let socket = try RawSocket(unixPath: path)
            socket.send(RawSocket.upgradeRequest(extra: "X-Forwarded-For: \(visitor)\r\n"))
            return String(decoding: socket.read(atLeast: 180), as: UTF8.self)
        }
        for _ in 0..<2 { #expect(try upgrade(from: "203.0.113.7").contains("challenge")) }
        #expect(try upgrade(from: "203.0.113.7").contains("too many connections from this network"), "the flooding visitor is held back")
        #expect(try upgrade(from: "198.51.100.20").contains("challenge"), "the next visitor is not locked out with them")

        server.stop()
        #expect(!FileManager.default.fileExists(atPath: path), "a stopped server leaves no socket behind")
    }

    @Test func aSocketLeftByACrashIsReplaced() async throws {
        let path = try socketPath()
        // A socket file nobody listens on, as a server killed with -9 leaves it.
        let abandoned = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: Array(path.utf8)) }
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(abandoned, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        try #require(bound == 0)
        close(abandoned)

        let server = try serve(on: path)
        #expect(try HTTPProbe.get(.unix(path: path), path: "/healthz", hostHeader: "haven.test", tls: nil).status == 200)
        server.stop()
    }

    @Test func aLiveServersSocketOrAnotherFileIsNeverTaken() async throws {
        let path = try socketPath()
        let first = try serve(on: path)
        #expect(throws: UVError.self, "a second server on the same socket") { try serve(on: path) }
        #expect(try HTTPProbe.get(.unix(path: path), path: "/healthz", hostHeader: "haven.test", tls: nil).status == 200,
                "the first still answers: its socket was not removed")
        first.stop()

        // In a folder others may write to, they could swap the socket for a link: refused.
        let shared = try socketPath()
        #expect(chmod((shared as NSString).deletingLastPathComponent, 0o777) == 0)
        #expect(throws: UVError.self, "a folder anyone may write to") { try serve(on: shared) }

        let file = try socketPath()
        try Data("not a socket".utf8).write(to: URL(fileURLWithPath: file))
        #expect(throws: UVError.self, "a file that is not a socket") { try serve(on: file) }
        #expect(try String(contentsOfFile: file, encoding: .utf8) == "not a socket", "and the file is left as it was")
    }
}
