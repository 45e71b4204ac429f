import CUV
import Foundation

/// A listening TCP socket; hands each accepted connection to ``onAccept``. Loop thread only.
public final class TCPListener {
    private let handle: UnsafeMutablePointer<uv_tcp_t>
    private let loop: EventLoop
    private var onAccept: (TCPStream) -> Void = { _ in }
    private var isClosed = false
    /// The port actually bound (useful after binding port 0).
    public private(set) var port = 0

    /// Binds and listens on `host:port` (port 0 picks a free port).
    ///
    /// - Throws: ``UVError``, e.g. `EADDRINUSE`.
    public init(loop: EventLoop, host: String, port: Int, backlog: Int32 = 4096, onAccept: @escaping (TCPStream) -> Void) throws {
        loop.preconditionInLoop()
        self.loop = loop
        self.onAccept = onAccept
        handle = .allocate(capacity: 1)
        var address = sockaddr_storage()
        try SocketAddress.parse(host: host, port: port, into: &address)
        try uv("uv_tcp_init") { uv_tcp_init(loop.loop, handle) }
        handle.pointee.data = Unmanaged.passRetained(self).toOpaque()
        do {
            _ = try withUnsafePointer(to: &address) { pointer throws(UVError) in
                try pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { addr throws(UVError) in
                    try uv("uv_tcp_bind") { uv_tcp_bind(handle, addr, 0) }
                }
            }
            _ = try handle.withMemoryRebound(to: uv_stream_t.self, capacity: 1) { stream throws(UVError) in
                try uv("uv_listen") {
                    uv_listen(stream, backlog) { server, status in
                        guard let server, status >= 0 else { return }
                        let listener = Unmanaged<TCPListener>.fromOpaque(server.pointee.data).takeUnretainedValue()
                        listener.acceptOne(server)
                    }
                }
            }
            self.port = boundPort()
        } catch {
            close()
            throw error
        }
    }

    private func acceptOne(_ server: UnsafeMutablePointer<uv_stream_t>) {
        guard let stream = try? TCPStream(loop: loop) else { return }
        let status = stream.handle.withMemoryRebound(to: uv_stream_t.self, capacity: 1) { uv_accept(server, $0) }
        guard status == 0 else {
            stream.close()
            return
        }
        onAccept(stream)
    }

    private func boundPort() -> Int {
        var storage = sockaddr_storage()
        var length = Int32(MemoryLayout<sockaddr_storage>.size)
        withUnsafeMutablePointer(to: &storage) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { _ = uv_tcp_getsockname(handle, $0, &length) }
        }
        return withUnsafePointer(to: &storage) { pointer in
            pointer.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { Int(UInt16(bigEndian: $0.pointee.sin_port)) }
        }
    }

    /// Stops listening; existing connections are unaffected.
    public func close() {
        guard !isClosed else { return }
        isClosed = true
        onAccept = { _ in }
        handle.withMemoryRebound(to: uv_handle_t.self, capacity: 1) { handle in
            // The loop's shutdown may already have closed it (see EventLoop.shutdown).
            guard uv_is_closing(handle) == 0 else { return }
            uv_close(handle) { handle in
                guard let handle else { return }
                if let data = handle.pointee.data { Unmanaged<TCPListener>.fromOpaque(data).release() }
                handle.withMemoryRebound(to: uv_tcp_t.self, capacity: 1) { $0.deallocate() }
            }
        }
    }
}
