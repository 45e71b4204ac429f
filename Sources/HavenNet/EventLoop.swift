import CUV
import Foundation

/// One libuv loop running on its own thread, the owner of all network state.
///
/// Other threads hand it work with ``execute(_:)``: closures go into one mutex-guarded queue
/// and a `uv_async_send` wakes the loop, whose callback drains the whole queue (libuv merges
/// wake-ups). Everything else on this type must be called on the loop thread.
public final class EventLoop: @unchecked Sendable {
    // @unchecked Sendable: `loop` and the handles are touched only on the loop thread; the
    // cross-thread state (`pending`, `stopping`) is guarded by `lock`.
    let loop: UnsafeMutablePointer<uv_loop_t>
    private let wakeup: UnsafeMutablePointer<uv_async_t>
    private let lock = NSLock()
    private var pending: [@Sendable () -> Void] = []
    private var stopping = false
    private var thread: Thread?
    private let finished = DispatchSemaphore(value: 0)
    private var loopThreadID: pthread_t?

    /// The libuv version string, e.g. "1.44.2".
    public static var libraryVersion: String { String(cString: uv_version_string()) }

    /// Creates a loop; call ``start()`` to run it on a new thread.
    public init() throws {
        loop = .allocate(capacity: 1)
        wakeup = .allocate(capacity: 1)
        do {
            try uv("uv_loop_init") { uv_loop_init(loop) }
        } catch {
            loop.deallocate()
            wakeup.deallocate()
            throw error
        }
        wakeup.pointee.data = Unmanaged.passUnretained(self).toOpaque()
        try uv("uv_async_init") {
            uv_async_init(loop, wakeup) { handle in
                guard let data = handle?.pointee.data else { return }
                Unmanaged<EventLoop>.fromOpaque(data).takeUnretainedValue().drain()
            }
        }
    }

    /// Starts the loop thread. The loop runs until ``shutdown()``.
    public func start() {
        let thread = Thread { [self] in
            loopThreadID = pthread_self()
            uv_run(loop, UV_RUN_DEFAULT)
            finished.signal()
        }
        thread.name = "haven-loop"
        self.thread = thread
        thread.start()
    }

    /// Runs `work` on the loop thread, soon. Safe to call from any thread.
    public func execute(_ work: @escaping @Sendable () -> Void) {
        lock.withLock { pending.append(work) }
        uv_async_send(wakeup)
    }

    /// True on the loop thread.
    public var inLoop: Bool {
        guard let loopThreadID else { return false }
        return pthread_equal(loopThreadID, pthread_self()) != 0
    }

    /// Traps when called off the loop thread: guards loop-only code, as swift-nio does.
    public func preconditionInLoop(file: StaticString = #fileID, line: UInt = #line) {
        precondition(inLoop, "must be called on the event loop thread", file: file, line: line)
    }

    /// Closes every handle, lets the loop finish, and waits for its thread. Call once, off the loop.
    public func shutdown() {
        lock.withLock { stopping = true }
        uv_async_send(wakeup)
        finished.wait()
    }

    private func drain() {
        let (work, stop) = lock.withLock {
            defer { pending.removeAll() }
            return (pending, stopping)
        }
        work.forEach { $0() }
        if stop {
            uv_walk(loop, { handle, _ in
                if let handle, uv_is_closing(handle) == 0 { uv_close(handle, nil) }
            }, nil)
        }
    }

    deinit {
        uv_loop_close(loop)
        loop.deallocate()
        wakeup.deallocate()
    }
}
