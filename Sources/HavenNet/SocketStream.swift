import CUV
import Foundation

/// Where a ``SocketStream`` connects, or a ``SocketListener`` listens: a numeric IP address and
/// port, or the path of a Unix-domain socket (a reverse proxy on the same machine).
public enum SocketEndpoint: Sendable, Equatable, CustomStringConvertible {
    case tcp(host: String, port: Int)
    case unix(path: String)

    public var description: String {
        switch self {
        case .tcp(let host, let port): return host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
        case .unix(let path): return path
        }
    }
}

/// One connection on an event loop, over TCP or a Unix-domain socket, accepted by a
/// ``SocketListener`` or made by ``connect(loop:to:completion:)``.
///
/// Output is queued and written once per loop iteration as a single `uv_write` of all queued
/// buffers; ``queuedBytes`` counts what is queued or in flight, so owners can bound it. Loop
/// thread only. The stream keeps itself alive until its `uv_close` callback.
public final class SocketStream {
    /// libuv's handle: a `uv_tcp_t` or a `uv_pipe_t`, both of which begin as a `uv_stream_t`.
    let handle: UnsafeMutablePointer<uv_stream_t>
    /// True for a Unix-domain socket.
    public let isUnixDomain: Bool
    /// The loop the stream belongs to.
    public let loop: EventLoop
    /// Called with each chunk read; the buffer is valid only during the call.
    public var onRead: (UnsafeRawBufferPointer) -> Void = { _ in }
    /// Called once when the peer closes, a read or write fails, or ``close()`` completes.
    public var onClose: () -> Void = {}
    /// Bytes queued or being written.
    public private(set) var queuedBytes = 0
    /// True once ``close()`` has been called or the peer has gone.
    public private(set) var isClosed = false
    /// Whether reads are being delivered (between ``startReading()`` and ``stopReading()``).
    public private(set) var isReading = false
    private var pending: [OutboundBytes] = []
    private var isDirty = false
    private var closeAfterFlush = false

    /// Room for either kind of handle.
    private static let handleBytes = max(MemoryLayout<uv_tcp_t>.size, MemoryLayout<uv_pipe_t>.size)
    private static let handleAlignment = max(MemoryLayout<uv_tcp_t>.alignment, MemoryLayout<uv_pipe_t>.alignment)

    init(loop: EventLoop, unixDomain: Bool) throws(UVError) {
        self.loop = loop
        isUnixDomain = unixDomain
        let memory = UnsafeMutableRawPointer.allocate(byteCount: Self.handleBytes, alignment: Self.handleAlignment)
        do {
            if unixDomain {
                try uv("uv_pipe_init") { uv_pipe_init(loop.loop, memory.bindMemory(to: uv_pipe_t.self, capacity: 1), 0) }
            } else {
                let tcp = memory.bindMemory(to: uv_tcp_t.self, capacity: 1)
                try uv("uv_tcp_init") { uv_tcp_init(loop.loop, tcp) }
                uv_tcp_nodelay(tcp, 1)
            }
        } catch {
            memory.deallocate()
            throw error
        }
        handle = memory.assumingMemoryBound(to: uv_stream_t.self)
        handle.pointee.data = Unmanaged.passRetained(self).toOpaque()
    }

    /// Connects to `endpoint`, calling `completion` on the loop thread.
    public static func connect(
        loop: EventLoop, to endpoint: SocketEndpoint, completion: @escaping (Result<SocketStream, UVError>) -> Void
    ) {
        loop.preconditionInLoop()
        let request = UnsafeMutablePointer<uv_connect_t>.allocate(capacity: 1)
        let connected: uv_connect_cb = { request, status in
            guard let request else { return }
            let box = Unmanaged<ConnectRequest>.fromOpaque(request.pointee.data).takeRetainedValue()
            request.deallocate()
            if status < 0 {
                box.stream.close()
                box.completion(.failure(UVError(code: status, function: "connect")))
            } else {
                box.completion(.success(box.stream))
            }
        }
        do throws(UVError) {
            switch endpoint {
            case .tcp(let host, let port):
                var address = sockaddr_storage()
                try SocketAddress.parse(host: host, port: port, into: &address)
                let stream = try SocketStream(loop: loop, unixDomain: false)
                request.pointee.data = Unmanaged.passRetained(ConnectRequest(stream: stream, completion: completion)).toOpaque()
                let status = withUnsafePointer(to: &address) {
                    $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { addr in
                        stream.handle.withMemoryRebound(to: uv_tcp_t.self, capacity: 1) { uv_tcp_connect(request, $0, addr, connected) }
                    }
                }
                if status < 0 {
                    Unmanaged<ConnectRequest>.fromOpaque(request.pointee.data).release()
                    stream.close()
                    throw UVError(code: status, function: "uv_tcp_connect")
                }
            case .unix(let path):
                let stream = try SocketStream(loop: loop, unixDomain: true)
                request.pointee.data = Unmanaged.passRetained(ConnectRequest(stream: stream, completion: completion)).toOpaque()
                stream.handle.withMemoryRebound(to: uv_pipe_t.self, capacity: 1) { uv_pipe_connect(request, $0, path, connected) }
            }
        } catch {
            request.deallocate()
            completion(.failure(error))
        }
    }

    /// Fixes the kernel's send buffer for this socket at `bytes` (Linux doubles it and stops
    /// growing it on its own). The kernel tells a writer it may write again only once a third of
    /// that buffer is free, so a small one lets a slow reader's progress be seen in small steps.
    ///
    /// - Throws: ``UVError`` when the socket refuses it.
    public func setSendBufferSize(_ bytes: Int) throws(UVError) {
        var value = Int32(clamping: bytes)
        _ = try handle.withMemoryRebound(to: uv_handle_t.self, capacity: 1) { handle throws(UVError) in
            try uv("uv_send_buffer_size") { uv_send_buffer_size(handle, &value) }
        }
    }

    /// Starts delivering reads to ``onRead``; nothing happens if it already does (libuv would
    /// refuse a second start, and the stream would close).
    public func startReading() {
        guard !isClosed, !isReading else { return }
        isReading = true
        let status = uv_read_start(handle, { handle, _, buffer in
            let stream = Unmanaged<SocketStream>.fromOpaque(handle!.pointee.data).takeUnretainedValue()
            buffer!.pointee.base = stream.loop.readBuffer.baseAddress!.assumingMemoryBound(to: CChar.self)
            buffer!.pointee.len = stream.loop.readBuffer.count
        }, { handle, count, _ in
            let stream = Unmanaged<SocketStream>.fromOpaque(handle!.pointee.data).takeUnretainedValue()
            if count < 0 {
                stream.close()
            } else if count > 0 {
                stream.onRead(UnsafeRawBufferPointer(start: stream.loop.readBuffer.baseAddress, count: count))
            }
        })
        if status < 0 { close() }
    }

    /// Stops reading (a peer that should not be heard any more, e.g. while closing).
    public func stopReading() {
        guard !isClosed else { return }
        isReading = false
        _ = uv_read_stop(handle)
    }

    /// Queues `bytes` for writing at the end of this loop iteration.
    public func write(_ bytes: OutboundBytes) {
        guard !isClosed, bytes.count > 0 else { return }
        pending.append(bytes)
        queuedBytes += bytes.count
        if !isDirty {
            isDirty = true
            loop.markDirty(self)
        }
    }

    private var shutdownPending = false

    /// Writes everything queued, then ends this side's writing (the peer reads the end) while
    /// reading goes on: for a refusal sent to a peer that may still be sending.
    public func shutdownAfterWriting() {
        shutdownPending = true
        if !isDirty && pending.isEmpty && writesInFlight == 0 { shutdownNow() }
    }

    private func shutdownNow() {
        shutdownPending = false
        guard !isClosed else { return }
        let request = UnsafeMutablePointer<uv_shutdown_t>.allocate(capacity: 1)
        let status = uv_shutdown(request, handle) { request, _ in request?.deallocate() }
        if status < 0 { request.deallocate() }
    }

    /// Writes everything queued, then closes (for a final error response or close frame).
    public func closeAfterWriting() {
        closeAfterFlush = true
        if !isDirty && pending.isEmpty && writesInFlight == 0 { close() }
    }

    private var writesInFlight = 0
    private var drainWaiters: [(bytes: Int, action: () -> Void)] = []

    /// Runs `action` on a later turn of the loop, once the bytes queued for writing are at most
    /// `bytes` (the next turn if they are already): never inside the caller, so a chain of them
    /// (pipelined requests, a paced replay) is a loop, not a recursion. Several may wait at once;
    /// none runs if the stream closes first.
    public func whenQueueBelow(_ bytes: Int, _ action: @escaping () -> Void) {
        guard queuedBytes > bytes else {
            let later = LoopBound({ [weak self] in
                guard let self, !self.isClosed else { return }
                action()
            }, loop: loop)
            loop.execute { later.value() }
            return
        }
        drainWaiters.append((bytes, action))
    }

    func flush() {
        isDirty = false
        guard !isClosed, !pending.isEmpty else { return }
        let chunks = pending
        pending.removeAll(keepingCapacity: true)
        let request = UnsafeMutablePointer<uv_write_t>.allocate(capacity: 1)
        let buffers = UnsafeMutablePointer<uv_buf_t>.allocate(capacity: chunks.count)
        var total = 0
        for (index, chunk) in chunks.enumerated() {
            buffers[index] = uv_buf_init(chunk.buffer.baseAddress!.assumingMemoryBound(to: CChar.self), UInt32(chunk.count))
            total += chunk.count
        }
        request.pointee.data = Unmanaged.passRetained(WriteRequest(stream: self, chunks: chunks, buffers: buffers, bytes: total))
            .toOpaque()
        writesInFlight += 1
        let status = uv_write(request, handle, buffers, UInt32(chunks.count)) { request, status in
            guard let request else { return }
            let box = Unmanaged<WriteRequest>.fromOpaque(request.pointee.data).takeRetainedValue()
            request.deallocate()
            box.buffers.deallocate()
            box.stream.writeCompleted(bytes: box.bytes, status: status)
        }
        if status < 0 {
            Unmanaged<WriteRequest>.fromOpaque(request.pointee.data).release()
            request.deallocate()
            buffers.deallocate()
            writeCompleted(bytes: total, status: status)
        }
    }

    private func writeCompleted(bytes: Int, status: Int32) {
        writesInFlight -= 1
        queuedBytes -= bytes
        if status < 0 {
            close()
        } else if closeAfterFlush && pending.isEmpty && writesInFlight == 0 {
            close()
        } else if shutdownPending && pending.isEmpty && writesInFlight == 0 {
            shutdownNow()
        } else if drainWaiters.contains(where: { queuedBytes <= $0.bytes }) {
            let ready = drainWaiters.filter { queuedBytes <= $0.bytes }
            drainWaiters.removeAll { queuedBytes <= $0.bytes }
            for waiter in ready { waiter.action() }
        }
    }

    /// Closes the connection; ``onClose`` runs once, from libuv's close callback.
    public func close() {
        guard !isClosed else { return }
        isClosed = true
        pending.removeAll()
        handle.withMemoryRebound(to: uv_handle_t.self, capacity: 1) { handle in
            // The loop's shutdown may already have closed it (see EventLoop.shutdown).
            guard uv_is_closing(handle) == 0 else { return }
            uv_close(handle) { handle in
                guard let handle else { return }
                let stream = Unmanaged<SocketStream>.fromOpaque(handle.pointee.data).takeRetainedValue()
                stream.onClose()
                stream.onClose = {}
                stream.onRead = { _ in }
                UnsafeMutableRawPointer(handle).deallocate()
            }
        }
    }
}

/// Keeps a write's buffers alive until libuv is done with them.
private final class WriteRequest {
    let stream: SocketStream
    let chunks: [OutboundBytes]
    let buffers: UnsafeMutablePointer<uv_buf_t>
    let bytes: Int

    init(stream: SocketStream, chunks: [OutboundBytes], buffers: UnsafeMutablePointer<uv_buf_t>, bytes: Int) {
        self.stream = stream
        self.chunks = chunks
        self.buffers = buffers
        self.bytes = bytes
    }
}

/// Keeps a connecting stream and its completion alive until the connect callback.
private final class ConnectRequest {
    let stream: SocketStream
    let completion: (Result<SocketStream, UVError>) -> Void

    init(stream: SocketStream, completion: @escaping (Result<SocketStream, UVError>) -> Void) {
        self.stream = stream
        self.completion = completion
    }
}
