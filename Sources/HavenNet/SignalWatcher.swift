import CUV
import Foundation

/// Watches SIGINT and SIGTERM on the loop and calls back once per signal. Loop thread only.
public final class SignalWatcher {
    private var handles: [UnsafeMutablePointer<uv_signal_t>] = []
    private var callback: (Int32) -> Void
    private var isClosed = false

    /// The signals that ask a server to stop: SIGINT and SIGTERM.
    public static let terminationSignals: [Int32] = [SIGINT, SIGTERM]

    /// Starts watching `signals`.
    public init(loop: EventLoop, signals: [Int32] = terminationSignals, callback: @escaping (Int32) -> Void) throws {
        loop.preconditionInLoop()
        self.callback = callback
        // A parent may have started us with these signals blocked (threads of some runtimes
        // block them, and a child inherits the mask); unblock them on the loop thread so the
        // kernel can deliver them here.
        var set = sigset_t()
        sigemptyset(&set)
        for signal in signals { sigaddset(&set, signal) }
        pthread_sigmask(SIG_UNBLOCK, &set, nil)
        for signal in signals {
            let handle = UnsafeMutablePointer<uv_signal_t>.allocate(capacity: 1)
            try uv("uv_signal_init") { uv_signal_init(loop.loop, handle) }
            handle.pointee.data = Unmanaged.passUnretained(self).toOpaque()
            try uv("uv_signal_start") {
                uv_signal_start(handle, { handle, signal in
                    guard let handle else { return }
                    Unmanaged<SignalWatcher>.fromOpaque(handle.pointee.data).takeUnretainedValue().callback(signal)
                }, signal)
            }
            handles.append(handle)
        }
    }

    /// Stops watching.
    public func close() {
        guard !isClosed else { return }
        isClosed = true
        for handle in handles {
            handle.withMemoryRebound(to: uv_handle_t.self, capacity: 1) { handle in
                // The loop's shutdown may already have closed it (see EventLoop.shutdown).
                guard uv_is_closing(handle) == 0 else { return }
                uv_close(handle) { handle in
                    handle?.withMemoryRebound(to: uv_signal_t.self, capacity: 1) { $0.deallocate() }
                }
            }
        }
        handles.removeAll()
    }
}
