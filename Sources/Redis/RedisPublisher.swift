import Foundation

/// Publishes to Redis from a thread of its own: ``publish(_:_:)`` only queues, and the thread
/// sends everything queued in one pipelined write. At most once, as pub/sub is: while Redis
/// cannot be reached, what is queued is dropped (and counted), and the thread tries again.
public final class RedisPublisher: @unchecked Sendable {
    // @unchecked Sendable: `queue`, `closed` and `dropped` are guarded by `condition`; the
    // connection is the thread's alone.
    private let address: RedisAddress
    private let condition = NSCondition()
    private var queue: [Publication] = []
    private var closed = false
    private var droppedCount = 0
    private var publishedCount = 0
    private let finished = DispatchSemaphore(value: 0)

    /// Starts the publisher's thread.
    public init(_ address: RedisAddress) {
        self.address = address
        Thread { [self] in
            try? "haven-redis-pub".write(toFile: "/proc/thread-self/comm", atomically: false, encoding: .utf8)
            run()
            finished.signal()
        }.start()
    }

    private struct Publication {
        let channel: [UInt8]
        let payload: [UInt8]
        let heard: (@Sendable (Int?) -> Void)?
    }

    /// Queues `payload` for `channel`; `heard`, if given, is told (on the publisher's thread) how
    /// many subscribers Redis gave it to, or nil when it could not be published.
    public func publish(_ channel: [UInt8], _ payload: [UInt8], heard: (@Sendable (Int?) -> Void)? = nil) {
        condition.withLock {
            queue.append(Publication(channel: channel, payload: payload, heard: heard))
            condition.signal()
        }
    }

    /// Messages dropped because Redis could not be reached, and messages published.
    public var counts: (published: Int, dropped: Int) {
        condition.withLock { (publishedCount, droppedCount) }
    }

    /// Sends what is queued (if it can), then stops the thread.
    public func close() {
        condition.withLock {
            closed = true
            condition.signal()
        }
        finished.wait()
    }

    private func run() {
        var connection: RedisConnection?
        while true {
            condition.lock()
            while queue.isEmpty && !closed { condition.wait() }
            if queue.isEmpty && closed {
                condition.unlock()
                return
            }
            let batch = queue
            queue.removeAll()
            condition.unlock()
            // Each message is answered once: with how many heard it, or nil when Redis refused it
            // or never answered (those count as dropped).
            var answered = 0, published = 0
            do {
                let live = try connection ?? RedisConnection(address, timeoutSeconds: 2)
                connection = live
                for message in batch { try live.append([Array("PUBLISH".utf8), message.channel, message.payload]) }
                try live.flush()
                for message in batch {
                    let reply = try live.nextReply()
                    answered += 1
                    guard case .integer(let receivers) = reply else {
                        message.heard?(nil)
                        continue
                    }
                    published += 1
                    message.heard?(Int(receivers))
                }
            } catch {
                connection = nil
                for message in batch[answered...] { message.heard?(nil) }
                // A pause before the next try, so a Redis that is down is not hammered.
                Thread.sleep(forTimeInterval: 0.2)
            }
            condition.withLock {
                publishedCount += published
                droppedCount += batch.count - published
            }
        }
    }
}
