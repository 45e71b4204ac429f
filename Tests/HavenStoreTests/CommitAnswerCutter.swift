import Foundation
import Glibc
import HavenNet

/// A relay in front of a PostgreSQL server's Unix socket that, once armed, drops the connection
/// when the server answers a COMMIT (so the transaction did commit) instead of passing the answer
/// on: the client cannot know what happened.
final class CommitAnswerCutter: @unchecked Sendable {
    // @unchecked Sendable: every stored property is set once, or locked (`armed`, `cuts`).
    /// The folder whose `.s.PGSQL.5432` the relay listens on: a libpq `host`.
    let folder: String
    private let target: String
    private let listener: Int32
    private let armed = Locked(false)
    private let stopped = Locked(false)
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
            guard client >= 0 else {
                // Only stop() ends the relay: a signal (another test's child ending) interrupts
                // an accept now and then.
                if stopped.withLock({ $0 }) { return }
                usleep(10_000)
                continue
            }
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
        // Shut down, not only closed: the client must see the end of the stream at once.
        defer {
            shutdown(client, Int32(SHUT_RDWR))
            shutdown(server, Int32(SHUT_RDWR))
            close(client)
            close(server)
        }
        var buffer = [UInt8](repeating: 0, count: 65_536)
        var descriptors = [pollfd(fd: client, events: Int16(POLLIN), revents: 0), pollfd(fd: server, events: Int16(POLLIN), revents: 0)]
        // Other tests' children ending (SIGCHLD) interrupt calls: those are made again.
        while true {
            guard poll(&descriptors, 2, -1) > 0 else {
                if errno == EINTR { continue }
                return
            }
            for (index, descriptor) in descriptors.enumerated() where descriptor.revents != 0 {
                let count = read(descriptor.fd, &buffer, buffer.count)
                if count < 0 && errno == EINTR { continue }
                guard count > 0 else { return }
                let bytes = Array(buffer[..<count])
                // The server's answer to a COMMIT (a CommandComplete tagged "COMMIT"): the
                // transaction committed; when armed, the client never hears it.
                if index == 1, Self.contains(bytes, Array("COMMIT\0".utf8)), armed.withLock({ armedNow in
                    defer { armedNow = false }
                    return armedNow
                }) {
                    cuts.withLock { $0 += 1 }
                    return
                }
                guard Self.writeAll(bytes, to: index == 0 ? server : client) else { return }
            }
        }
    }

    private static func writeAll(_ bytes: [UInt8], to descriptor: Int32) -> Bool {
        var offset = 0
        while offset < bytes.count {
            let written = bytes[offset...].withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
            guard written > 0 || errno == EINTR else { return false }
            offset += max(0, written)
        }
        return true
    }

    private static func contains(_ bytes: [UInt8], _ part: [UInt8]) -> Bool {
        bytes.count >= part.count && (0...(bytes.count - part.count)).contains { bytes[$0..<($0 + part.count)].elementsEqual(part) }
    }

    private static func address(_ path: String) -> sockaddr_un {
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: Array(path.utf8).prefix($0.count - 1)) }
        return address
    }

    /// Stops accepting (connections already relayed go on until either side closes).
    func stop() {
        stopped.withLock { $0 = true }
        shutdown(listener, Int32(SHUT_RDWR))
    }
}
