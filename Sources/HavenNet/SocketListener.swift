import CUV
import Foundation

/// How a TCP listener shares its port with the listeners of other loops.
public enum PortSharing: Sendable {
    /// The port is this listener's alone.
    case alone
    /// The first of several listeners on the port: it must be free.
    case firstOfSeveral
    /// A listener joining the first on its port.
    case joining
}

/// A listening socket, TCP or Unix-domain; hands each accepted connection to ``onAccept``. Loop
/// thread only.
public final class SocketListener {
    private let handle: UnsafeMutablePointer<uv_stream_t>
    private let loop: EventLoop
    private let unixPath: String?
    /// The socket file this listener made, removed when it closes (never another's).
    private var madeSocketFile: String?
    private var onAccept: (SocketStream) -> Void = { _ in }
    private var isClosed = false
    /// The TCP port actually bound (useful after binding port 0); 0 for a Unix-domain socket.
    public private(set) var port = 0
    /// The listening socket's descriptor, for ``init(loop:sharing:backlog:onAccept:)`` on
    /// another loop.
    public private(set) var descriptor: Int32 = -1

    /// Binds and listens on `endpoint` (TCP port 0 picks a free port). A Unix-domain socket is
    /// made with `mode` (its owner and group, by default: only a proxy in the service's group may
    /// connect); one left behind by a server that is gone is replaced, one a live server still
    /// answers on is not, and neither is a file that is not a socket.
    ///
    /// A TCP listener of several loops' (`sharing`) is bound with `SO_REUSEPORT`, so they bind
    /// the same port and the kernel spreads new connections over them.
    ///
    /// - Throws: ``UVError``, e.g. `EADDRINUSE`.
    public init(
        loop: EventLoop, endpoint: SocketEndpoint, mode: UInt32 = 0o660, backlog: Int32 = 4096, sharing: PortSharing = .alone,
        onAccept: @escaping (SocketStream) -> Void
    ) throws(UVError) {
        loop.preconditionInLoop()
        self.loop = loop
        self.onAccept = onAccept
        let memory = UnsafeMutableRawPointer.allocate(
            byteCount: max(MemoryLayout<uv_tcp_t>.size, MemoryLayout<uv_pipe_t>.size),
            alignment: max(MemoryLayout<uv_tcp_t>.alignment, MemoryLayout<uv_pipe_t>.alignment))
        handle = memory.assumingMemoryBound(to: uv_stream_t.self)
        switch endpoint {
        case .tcp(let host, _):
            unixPath = nil
            do {
                // Shared, the socket must exist before the bind to take SO_REUSEPORT.
                let family = sharing == .alone ? UInt32(AF_UNSPEC) : UInt32(host.contains(":") ? AF_INET6 : AF_INET)
                try uv("uv_tcp_init_ex") { uv_tcp_init_ex(loop.loop, memory.bindMemory(to: uv_tcp_t.self, capacity: 1), family) }
            } catch {
                memory.deallocate()
                throw error
            }
        case .unix(let path):
            unixPath = path
            do {
                try uv("uv_pipe_init") { uv_pipe_init(loop.loop, memory.bindMemory(to: uv_pipe_t.self, capacity: 1), 0) }
            } catch {
                memory.deallocate()
                throw error
            }
        }
        handle.pointee.data = Unmanaged.passRetained(self).toOpaque()
        do {
            switch endpoint {
            case .tcp(let host, let port):
                var address = sockaddr_storage()
                try SocketAddress.parse(host: host, port: port, into: &address)
                if sharing == .firstOfSeveral && port != 0 { try Self.requireFree(address) }
                if sharing != .alone { try sharePort() }
                _ = try withUnsafePointer(to: &address) { pointer throws(UVError) in
                    try pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { addr throws(UVError) in
                        try handle.withMemoryRebound(to: uv_tcp_t.self, capacity: 1) { tcp throws(UVError) in
                            try uv("uv_tcp_bind") { uv_tcp_bind(tcp, addr, 0) }
                        }
                    }
                }
            case .unix(let path):
                try Self.requirePrivateFolder(of: path)
                try Self.removeAbandonedSocket(at: path)
                _ = try handle.withMemoryRebound(to: uv_pipe_t.self, capacity: 1) { pipe throws(UVError) in
                    try uv("uv_pipe_bind") { uv_pipe_bind(pipe, path) }
                }
                madeSocketFile = path
                // Made under the process's umask (0077 under systemd), then opened to the group.
                _ = try uv("chmod") { chmod(path, mode_t(mode)) == 0 ? 0 : -errno }
            }
            try listen(backlog: backlog)
            if case .tcp = endpoint { self.port = boundPort() }
            descriptor = try fileDescriptor()
        } catch {
            close()
            throw error
        }
    }

    /// Listens, on `loop`, on the Unix-domain socket another loop's listener listens on (its
    /// ``descriptor``): each connection goes to whichever loop accepts it first. The socket's file
    /// stays the other listener's.
    ///
    /// - Throws: ``UVError`` when the socket cannot be taken up.
    public convenience init(loop: EventLoop, sharing listening: Int32, backlog: Int32 = 4096, onAccept: @escaping (SocketStream) -> Void) throws(UVError) {
        let copy = dup(listening)
        guard copy >= 0 else { throw UVError(code: -errno, function: "dup") }
        try self.init(loop: loop, adopting: copy, backlog: backlog, onAccept: onAccept)
    }

    private init(loop: EventLoop, adopting descriptor: Int32, backlog: Int32, onAccept: @escaping (SocketStream) -> Void) throws(UVError) {
        loop.preconditionInLoop()
        self.loop = loop
        self.onAccept = onAccept
        unixPath = ""
        self.descriptor = descriptor
        let pipe = UnsafeMutablePointer<uv_pipe_t>.allocate(capacity: 1)
        handle = UnsafeMutableRawPointer(pipe).assumingMemoryBound(to: uv_stream_t.self)
        do {
            try uv("uv_pipe_init") { uv_pipe_init(loop.loop, pipe, 0) }
        } catch {
            pipe.deallocate()
            Glibc.close(descriptor)
            throw error
        }
        handle.pointee.data = Unmanaged.passRetained(self).toOpaque()
        do {
            try uv("uv_pipe_open") { uv_pipe_open(pipe, descriptor) }
            try listen(backlog: backlog)
        } catch {
            close()
            throw error
        }
    }

    private func listen(backlog: Int32) throws(UVError) {
        try uv("uv_listen") {
            uv_listen(handle, backlog) { server, status in
                guard let server, status >= 0 else { return }
                let listener = Unmanaged<SocketListener>.fromOpaque(server.pointee.data).takeUnretainedValue()
                listener.acceptOne(server)
            }
        }
    }

    /// Refuses a port another socket listens on, even one bound with `SO_REUSEPORT`: a second
    /// server started on the port by mistake would otherwise take a share of the first one's
    /// connections instead of failing to start. A bind without `SO_REUSEPORT`, given up at once,
    /// finds out; with `SO_REUSEADDR`, as libuv binds, so the connections a server just closed
    /// (waiting out TIME_WAIT on the port) do not keep it from starting again.
    private static func requireFree(_ address: sockaddr_storage) throws(UVError) {
        var address = address
        let probe = socket(Int32(address.ss_family), Int32(SOCK_STREAM.rawValue), 0)
        guard probe >= 0 else { throw UVError(code: -errno, function: "socket") }
        defer { Glibc.close(probe) }
        var on: Int32 = 1
        setsockopt(probe, SOL_SOCKET, SO_REUSEADDR, &on, socklen_t(MemoryLayout<Int32>.size))
        let length = socklen_t(Int32(address.ss_family) == AF_INET6 ? MemoryLayout<sockaddr_in6>.size : MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.bind(probe, $0, length) } }
        guard bound == 0 else { throw UVError(code: -errno, function: "uv_tcp_bind") }
    }

    /// The handle's socket.
    private func fileDescriptor() throws(UVError) -> Int32 {
        var descriptor: uv_os_fd_t = -1
        try uv("uv_fileno") { handle.withMemoryRebound(to: uv_handle_t.self, capacity: 1) { uv_fileno($0, &descriptor) } }
        return descriptor
    }

    /// Sets `SO_REUSEPORT` on the TCP handle before it is bound: the socket is made first, with
    /// the same address family libuv would pick at bind time.
    private func sharePort() throws(UVError) {
        let descriptor = try fileDescriptor()
        var on: Int32 = 1
        try uv("setsockopt(SO_REUSEPORT)") {
            setsockopt(descriptor, SOL_SOCKET, SO_REUSEPORT, &on, socklen_t(MemoryLayout<Int32>.size)) == 0 ? 0 : -errno
        }
    }

    /// Refuses a socket in a folder that is neither this user's nor root's, or that others may
    /// write to: they could take the socket's place first, or swap it for a link between its
    /// making and its chmod (the service's own folder, /run/haven, is neither).
    private static func requirePrivateFolder(of path: String) throws(UVError) {
        var status = stat()
        let folder = (path as NSString).deletingLastPathComponent
        guard stat(folder.isEmpty ? "." : folder, &status) == 0 else { throw UVError(code: -errno, function: "the socket's folder") }
        guard status.st_uid == geteuid() || status.st_uid == 0, status.st_mode & 0o022 == 0 else {
            throw UVError(code: -EACCES, function: "a socket in \(folder), which others may change (use a folder of the service's own, such as /run/haven)")
        }
    }

    /// Removes a socket at `path` that nobody answers on (its server is gone); a live one (or one
    /// too busy to answer at once), or a file of another kind, is left for `uv_pipe_bind` to
    /// refuse with `EADDRINUSE`.
    private static func removeAbandonedSocket(at path: String) throws(UVError) {
        var status = stat()
        guard lstat(path, &status) == 0, status.st_mode & S_IFMT == S_IFSOCK else { return }
        let probe = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 0)
        guard probe >= 0 else { return }
        defer { Glibc.close(probe) }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let fits = withUnsafeMutableBytes(of: &address.sun_path) { buffer -> Bool in
            let bytes = Array(path.utf8)
            guard bytes.count < buffer.count else { return false }
            buffer.copyBytes(from: bytes)
            return true
        }
        guard fits else { throw UVError(code: -ENAMETOOLONG, function: "uv_pipe_bind") }
        let answered = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(probe, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard answered != 0, errno == ECONNREFUSED else { return }
        unlink(path)
    }

    private func acceptOne(_ server: UnsafeMutablePointer<uv_stream_t>) {
        guard let stream = try? SocketStream(loop: loop, unixDomain: unixPath != nil) else { return }
        guard uv_accept(server, stream.handle) == 0 else {
            stream.close()
            return
        }
        onAccept(stream)
    }

    private func boundPort() -> Int {
        var storage = sockaddr_storage()
        var length = Int32(MemoryLayout<sockaddr_storage>.size)
        withUnsafeMutablePointer(to: &storage) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { address in
                handle.withMemoryRebound(to: uv_tcp_t.self, capacity: 1) { _ = uv_tcp_getsockname($0, address, &length) }
            }
        }
        return withUnsafePointer(to: &storage) { pointer in
            pointer.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { Int(UInt16(bigEndian: $0.pointee.sin_port)) }
        }
    }

    /// Stops listening (and removes the Unix-domain socket's file); existing connections are
    /// unaffected.
    public func close() {
        guard !isClosed else { return }
        isClosed = true
        onAccept = { _ in }
        if let madeSocketFile { unlink(madeSocketFile) }
        handle.withMemoryRebound(to: uv_handle_t.self, capacity: 1) { handle in
            // The loop's shutdown may already have closed it (see EventLoop.shutdown).
            guard uv_is_closing(handle) == 0 else { return }
            uv_close(handle) { handle in
                guard let handle else { return }
                if let data = handle.pointee.data { Unmanaged<SocketListener>.fromOpaque(data).release() }
                UnsafeMutableRawPointer(handle).deallocate()
            }
        }
    }
}
