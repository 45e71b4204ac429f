import CUV

/// A libuv timer. Loop thread only; call ``close()`` when done (the timer keeps itself alive until then).
public final class LoopTimer {
    private let handle: UnsafeMutablePointer<uv_timer_t>
    private var callback: () -> Void
    private var isClosed = false

    /// Creates a stopped timer on `loop`.
    public init(loop: EventLoop, callback: @escaping () -> Void) throws {
        loop.preconditionInLoop()
        self.callback = callback
        handle = .allocate(capacity: 1)
        try uv("uv_timer_init") { uv_timer_init(loop.loop, handle) }
        handle.pointee.data = Unmanaged.passRetained(self).toOpaque()
    }

    /// Fires after `milliseconds`, then every `repeatMilliseconds` (0: once).
    public func start(after milliseconds: UInt64, repeatEvery repeatMilliseconds: UInt64 = 0) {
        guard !isClosed else { return }
        uv_timer_start(handle, { handle in
            guard let handle else { return }
            Unmanaged<LoopTimer>.fromOpaque(handle.pointee.data).takeUnretainedValue().callback()
        }, milliseconds, repeatMilliseconds)
    }

    /// Stops the timer; it can be started again.
    public func stop() {
        guard !isClosed else { return }
        uv_timer_stop(handle)
    }

    /// Stops and releases the timer.
    public func close() {
        guard !isClosed else { return }
        isClosed = true
        callback = {}
        handle.withMemoryRebound(to: uv_handle_t.self, capacity: 1) { handle in
            // The loop's shutdown may already have closed it (see EventLoop.shutdown).
            guard uv_is_closing(handle) == 0 else { return }
            uv_close(handle) { handle in
                guard let handle else { return }
                Unmanaged<LoopTimer>.fromOpaque(handle.pointee.data).release()
                handle.withMemoryRebound(to: uv_timer_t.self, capacity: 1) { $0.deallocate() }
            }
        }
    }
}
