import Foundation
import Glibc

/// A Redis pub/sub subscription on a thread of its own: channels come and go while it runs, and
/// it connects again after Redis restarts or the connection drops, subscribing again to every
/// channel it had.
///
/// Pub/sub is at most once: what was published while the connection was down is not delivered.
/// `onConnected(true)` says so, each time the subscriber is back, so its owner can read what it
/// missed from where it keeps things durably.
public final class RedisSubscriber: @unchecked Sendable {
    // @unchecked Sendable: `wanted`, `changes` and `closed` are guarded by `lock`; the
    // connection is the thread's alone.
    private let address: RedisAddress
    private let onMessage: @Sendable (_ channel: [UInt8], _ payload: [UInt8]) -> Void
    private let onConnected: @Sendable (_ again: Bool) -> Void
    private let onSubscribed: @Sendable (_ channel: [UInt8]) -> Void
    private let onLost: @Sendable (_ reason: String) -> Void
    private let lock = NSLock()
    private var wanted: Set<[UInt8]> = []
    private var changes: [(subscribe: Bool, channel: [UInt8])] = []
    private var closed = false
    /// A pipe whose read end wakes the thread (its write end is written to).
    private let wake: (read: Int32, write: Int32)
    private let finished = DispatchSemaphore(value: 0)

    /// Starts the subscriber. `onMessage`, `onConnected`, `onSubscribed` (each time Redis
    /// confirms a channel: from then on nothing published on it is missed) and `onLost` (once
    /// when it cannot reach Redis, until it has again) run on its thread.
    public init(
        _ address: RedisAddress, onMessage: @escaping @Sendable (_ channel: [UInt8], _ payload: [UInt8]) -> Void,
        onConnected: @escaping @Sendable (_ again: Bool) -> Void = { _ in },
        onSubscribed: @escaping @Sendable (_ channel: [UInt8]) -> Void = { _ in },
        onLost: @escaping @Sendable (_ reason: String) -> Void = { _ in }
    ) {
        self.address = address
        self.onMessage = onMessage
        self.onConnected = onConnected
        self.onSubscribed = onSubscribed
        self.onLost = onLost
        var ends: [Int32] = [-1, -1]
        pipe(&ends)
        for end in ends { _ = fcntl(end, F_SETFL, O_NONBLOCK) }
        wake = (ends[0], ends[1])
        Thread { [self] in
            try? "haven-redis-sub".write(toFile: "/proc/thread-self/comm", atomically: false, encoding: .utf8)
            run()
            finished.signal()
        }.start()
    }

    /// Listens on `channel` too (from now on, and again after every reconnection).
    public func subscribe(_ channel: [UInt8]) {
        change(subscribe: true, channel)
    }

    /// Stops listening on `channel`.
    public func unsubscribe(_ channel: [UInt8]) {
        change(subscribe: false, channel)
    }

    /// Stops the thread and closes the connection.
    public func close() {
        lock.withLock { closed = true }
        signalWake()
        finished.wait()
        Glibc.close(wake.read)
        Glibc.close(wake.write)
    }

    private func change(subscribe: Bool, _ channel: [UInt8]) {
        let changed = lock.withLock {
            let changed = subscribe ? wanted.insert(channel).inserted : wanted.remove(channel) != nil
            if changed { changes.append((subscribe, channel)) }
            return changed
        }
        if changed { signalWake() }
    }

    private func signalWake() {
        var one: UInt8 = 1
        _ = write(wake.write, &one, 1)
    }

    private var isClosed: Bool { lock.withLock { closed } }

    private func run() {
        var connectedBefore = false
        var toldLost = false
        var retryMilliseconds: Int32 = 100
        while !isClosed {
            let connection: RedisConnection
            do {
                connection = try RedisConnection(address)
            } catch {
                if !toldLost { onLost("\(error)") }
                toldLost = true
                waitForWake(milliseconds: retryMilliseconds)
                retryMilliseconds = min(retryMilliseconds * 2, 2_000)
                continue
            }
            toldLost = false
            retryMilliseconds = 100
            do {
                // Everything wanted now, whatever changes were pending: they are in `wanted`.
                let channels = lock.withLock {
                    changes.removeAll()
                    return Array(wanted)
                }
                if !channels.isEmpty {
                    try connection.append([Array("SUBSCRIBE".utf8)] + channels)
                    try connection.flush()
                }
                onConnected(connectedBefore)
                connectedBefore = true
                try serve(connection)
            } catch {
                continue
            }
        }
    }

    /// Waits for messages and channel changes until the connection fails or the subscriber closes.
    private func serve(_ connection: RedisConnection) throws(RedisError) {
        while !isClosed {
            var descriptors = [pollfd(fd: connection.descriptor, events: Int16(POLLIN), revents: 0), pollfd(fd: wake.read, events: Int16(POLLIN), revents: 0)]
            guard poll(&descriptors, 2, 1_000) >= 0 || errno == EINTR else { throw RedisError.connectionFailed(reason: "poll failed") }
            if descriptors[1].revents != 0 {
                var drained = [UInt8](repeating: 0, count: 64)
                while read(wake.read, &drained, drained.count) > 0 {}
                let pending = lock.withLock {
                    defer { changes.removeAll() }
                    return changes
                }
                for change in pending {
                    try connection.append([Array((change.subscribe ? "SUBSCRIBE" : "UNSUBSCRIBE").utf8), change.channel])
                }
                if !pending.isEmpty { try connection.flush() }
            }
            if descriptors[0].revents != 0 {
                for reply in try connection.readAvailable() {
                    guard case .array(let parts) = reply, parts.count == 3, case .string(let kind) = parts[0], case .string(let channel) = parts[1]
                    else { continue }
                    if kind == Array("message".utf8), case .string(let payload) = parts[2] { onMessage(channel, payload) }
                    if kind == Array("subscribe".utf8) { onSubscribed(channel) }
                }
            }
        }
    }

    private func waitForWake(milliseconds: Int32) {
        var descriptor = pollfd(fd: wake.read, events: Int16(POLLIN), revents: 0)
        _ = poll(&descriptor, 1, milliseconds)
    }
}
