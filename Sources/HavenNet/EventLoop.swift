import CUV
import Foundation

/// One libuv loop running on its own thread, the owner of all network state.
///
/// Other threads hand it work with ``execute(_:)``: closures go into one mutex-guarded queue
/// and a `uv_async_send` wakes the loop, whose callback drains the whole queue (libuv merges
/// wake-ups). Everything else on this type, and every handle created on it, must be used on the
/// loop thread; ``preconditionInLoop(file:line:)`` guards that.
public final class EventLoop: @unchecked Sendable {
    // @unchecked Sendable: `loop` and the handles are touched only on the loop thread; the
    // cross-thread state (`pending`, `stopping`, `loopThread`) is guarded by `lock`.
    let loop: UnsafeMutablePointer<uv_loop_t>
    private let wakeup: UnsafeMutablePointer<uv_async_t>
    private let flushCheck: UnsafeMutablePointer<uv_check_t>
    private let flushIdle: UnsafeMutablePointer<uv_idle_t>
    private let lock = NSLock()
    private var pending: [@Sendable () -> Void] = []
    private var stopping = false
    private var shutdownHooks: [() -> Void] = []
    private let finished = DispatchSemaphore(value: 0)
    private var loopThread: pthread_t?
    private var dirtyStreams: [SocketStream] = []
    private var turnEndWork: [() -> Void] = []

    /// One read buffer for every stream on this loop: reads are consumed inside the read callback.
    let readBuffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 64 * 1024, alignment: 16)

    /// The libuv version string, e.g. "1.44.2".
    public static var libraryVersion: String { String(cString: uv_version_string()) }

    /// Creates a loop; call ``start()`` to run it on a new thread.
    ///
    /// - Throws: ``UVError`` when libuv cannot create the loop.
    public init() throws {
        // A write to a peer that has gone must fail that write (libuv reports EPIPE), not end the
        // whole process with SIGPIPE and every other member's connection with it.
        signal(SIGPIPE, SIG_IGN)
        loop = .allocate(capacity: 1)
        wakeup = .allocate(capacity: 1)
        flushCheck = .allocate(capacity: 1)
        flushIdle = .allocate(capacity: 1)
        try uv("uv_loop_init") { uv_loop_init(loop) }
        let me = Unmanaged.passUnretained(self).toOpaque()
        wakeup.pointee.data = me
        flushCheck.pointee.data = me
        try uv("uv_async_init") {
            uv_async_init(loop, wakeup) { handle in
                guard let data = handle?.pointee.data else { return }
                Unmanaged<EventLoop>.fromOpaque(data).takeUnretainedValue().drain()
            }
        }
        try uv("uv_check_init") { uv_check_init(loop, flushCheck) }
        try uv("uv_idle_init") { uv_idle_init(loop, flushIdle) }
        uv_check_start(flushCheck) { handle in
            guard let data = handle?.pointee.data else { return }
            Unmanaged<EventLoop>.fromOpaque(data).takeUnretainedValue().flushDirtyStreams()
        }
    }

    /// Starts the loop thread, named `name` (at most 15 bytes). The loop runs until ``shutdown()``.
    public func start(name: String = "haven-loop") {
        let thread = Thread { [self] in
            // Named in the kernel too, so `top -H` and profiles tell the loops from the store writer.
            try? name.write(toFile: "/proc/thread-self/comm", atomically: false, encoding: .utf8)
            lock.withLock { loopThread = pthread_self() }
            uv_run(loop, UV_RUN_DEFAULT)
            finished.signal()
        }
        thread.stackSize = 1 << 20
        thread.start()
    }

    /// Runs `work` on the loop thread, soon. Safe to call from any thread.
    public func execute(_ work: @escaping @Sendable () -> Void) {
        lock.withLock { pending.append(work) }
        uv_async_send(wakeup)
    }

    /// Runs `work` on the loop thread and waits for its result. Must not be called on the loop
    /// thread unless the caller is already there, in which case `work` runs at once.
    public func submitAndWait<Result: Sendable>(_ work: @escaping @Sendable () throws -> Result) throws -> Result {
        if inLoop { return try work() }
        let done = DispatchSemaphore(value: 0)
        let box = ResultBox<Result>()
        execute {
            box.result = Swift.Result { try work() }
            done.signal()
        }
        done.wait()
        return try box.result!.get()
    }

    /// True on the loop thread.
    public var inLoop: Bool {
        guard let thread = lock.withLock({ loopThread }) else { return false }
        return pthread_equal(thread, pthread_self()) != 0
    }

    /// Traps when called off the loop thread: guards loop-only code, as swift-nio does.
    public func preconditionInLoop(file: StaticString = #fileID, line: UInt = #line) {
        precondition(inLoop, "must be called on the event loop thread", file: file, line: line)
    }

    /// The loop's cached clock in milliseconds (updated once per loop iteration).
    public var nowMilliseconds: UInt64 { uv_now(loop) }

    /// Registers work that runs on the loop thread when ``shutdown()`` begins, so owners can
    /// close their handles cleanly (listeners, connections, timers).
    public func onShutdown(_ hook: @escaping () -> Void) {
        preconditionInLoop()
        shutdownHooks.append(hook)
    }

    /// Runs the shutdown hooks, closes every remaining handle, lets the loop finish, and waits
    /// for its thread. Call once, off the loop thread.
    public func shutdown() {
        lock.withLock { stopping = true }
        uv_async_send(wakeup)
        finished.wait()
    }

    /// Marks `stream` as having queued output; all dirty streams are written once per iteration.
    func markDirty(_ stream: SocketStream) {
        if dirtyStreams.isEmpty && turnEndWork.isEmpty { uv_idle_start(flushIdle) { _ in } }
        dirtyStreams.append(stream)
    }

    /// Runs `work` once at the end of this turn of the loop, before its output is written and
    /// before the loop waits again: for batching what one turn produces (hand-offs to other
    /// loops, say) into one piece. Loop thread only.
    public func atTurnEnd(_ work: @escaping () -> Void) {
        preconditionInLoop()
        if turnEndWork.isEmpty && dirtyStreams.isEmpty { uv_idle_start(flushIdle) { _ in } }
        turnEndWork.append(work)
    }

    private func flushDirtyStreams() {
        while !turnEndWork.isEmpty {
            let work = turnEndWork
            turnEndWork.removeAll(keepingCapacity: true)
            work.forEach { $0() }
        }
        guard !dirtyStreams.isEmpty else {
            uv_idle_stop(flushIdle)
            return
        }
        let streams = dirtyStreams
        dirtyStreams.removeAll(keepingCapacity: true)
        uv_idle_stop(flushIdle)
        for stream in streams { stream.flush() }
    }

    private func drain() {
        let (work, stop) = lock.withLock {
            defer { pending.removeAll() }
            return (pending, stopping)
        }
        work.forEach { $0() }
        guard stop else { return }
        let hooks = shutdownHooks
        shutdownHooks.removeAll()
        hooks.forEach { $0() }
        flushDirtyStreams()
        // Close whatever is still open (the loop's own handles, and any connection its owner did
        // not close); an owner closing one later finds it closing already and leaves it.
        uv_walk(loop, { handle, _ in
            if let handle, uv_is_closing(handle) == 0 { uv_close(handle, nil) }
        }, nil)
    }

    deinit {
        uv_loop_close(loop)
        loop.deallocate()
        wakeup.deallocate()
        flushCheck.deallocate()
        flushIdle.deallocate()
        readBuffer.deallocate()
    }
}

/// Carries a result from the loop thread back to a waiting thread.
private final class ResultBox<Value>: @unchecked Sendable {
    // @unchecked Sendable: written once on the loop thread before the semaphore is signalled,
    // read once by the waiter after it.
    var result: Result<Value, any Error>?
}

/// A value confined to one event loop, carried through `@Sendable` closures.
///
/// Only the loop thread may read ``value``; construction may happen anywhere, before the value is
/// shared (as swift-nio's `NIOLoopBound`).
public struct LoopBound<Value>: @unchecked Sendable {
    // @unchecked Sendable: every access to `wrapped` checks that it runs on `loop`'s thread.
    private let wrapped: Value
    /// The loop that owns the value.
    public let loop: EventLoop

    /// Wraps `value` for `loop`.
    public init(_ value: Value, loop: EventLoop) {
        self.wrapped = value
        self.loop = loop
    }

    /// The value; traps off the loop thread.
    public var value: Value {
        loop.preconditionInLoop()
        return wrapped
    }
}
