import Foundation
import Glibc
import HavenNet

/// A relay in front of a PostgreSQL server's Unix socket that, once armed, lets the next COMMIT
/// through, waits for the server's answer (so the transaction did commit) and drops the
/// connection instead of passing the answer on: the client cannot know what happened.
final class CommitAnswerCutter: @unchecked Sendable {
    // @unchecked Sendable: every stored property is set once, or locked (`armed`, `cuts`).
    /// The folder whose `.s.PGSQL.5432` the relay listens on: a libpq `host`.
    let folder: String
    private let target: String
    private let listener: Int32
    private let armed = Locked(false)
    /// How many COMMIT answers were dropped.
    let cuts = Locked(0)

    /// Listens in a new folder, relaying to the server whose socket folder is `serverFolder`.
    init(serverFolder: String) throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("haven-cut-\(UUID().uuidString.prefix(8))").path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        target = serverFolder + "/.s.PGSQL.5432"
        listener = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        var address = Self.address(folder + "/.s.PGSQL.5432")
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(listener, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard bound == 0, listen(listener, 16) == 0 else { throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EADDRINUSE) }
        Thread { [self] in acceptForever() }.start()
    }

    /// Drops the answer to the next COMMIT.
    func arm() { armed.withLock { $0 = true } }

    private func acceptForever() {
        while true {
            let client = accept(listener, nil, nil)
            guard client >= 0 else { return }
            let server = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
            var address = Self.address(target)
            let connected = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(server, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
            }
            guard connected == 0 else {
                close(client)
                close(server)
                continue
            }
            Thread { [self] in relay(client: client, server: server) }.start()
        }
    }

    private func relay(client: Int32, server: Int32) {
        defer {
            close(client)
            close(server)
        }
        var buffer = [UInt8](repeating: 0, count: 65_536)
        var descriptors = [pollfd(fd: client, events: Int16(POLLIN), revents: 0), pollfd(fd: server, events: Int16(POLLIN), revents: 0)]
        while poll(&descriptors, 2, -1) > 0 {
            for (index, descriptor) in descriptors.enumerated() where descriptor.revents != 0 {
                let count = read(descriptor.fd, &buffer, buffer.count)
                guard count > 0 else { return }
                let bytes = Array(buffer[..<count])
                let peer = index == 0 ? server : client
                guard write(peer, bytes, bytes.count) == count else { return }
                // A simple-query COMMIT: "Q", its length, "COMMIT", NUL.
                if index == 0, bytes.count >= 12, bytes[5...].starts(with: Array("COMMIT\0".utf8)), armed.withLock({ armedNow in
                    defer { armedNow = false }
                    return armedNow
                }) {
                    var answer = [pollfd(fd: server, events: Int16(POLLIN), revents: 0)]
                    _ = poll(&answer, 1, 10_000)
                    _ = read(server, &buffer, buffer.count)
                    cuts.withLock { $0 += 1 }
                    return
                }
            }
        }
    }

    private static func address(_ path: String) -> sockaddr_un {
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: Array(path.utf8).prefix($0.count - 1)) }
        return address
    }

    /// Stops accepting (connections already relayed go on until either side closes).
    func stop() {
        shutdown(listener, Int32(SHUT_RDWR))
    }
}
