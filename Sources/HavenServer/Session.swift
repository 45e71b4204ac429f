import HavenNet
import HavenProtocol

/// One client connection's state on the loop thread: login progress, rooms, rate limits.
final class Session {
    enum State {
        /// Challenge sent, waiting for `auth`.
        case awaitingAuth(AuthChallenge)
        /// Signature checked; the member record is being written.
        case authenticating
        /// Logged in.
        case authenticated(MemberInfo)
    }

    /// Whether a replay is still running (live messages wait in `buffer`) or done.
    enum Subscription {
        case catchingUp(buffer: [(cursor: Int64, frame: OutboundBytes)])
        case live
    }

    /// Bytes held in catch-up buffers; bounded like the send queue.
    private var bufferedBytes = 0

    let connection: WebSocketConnection
    let addressKey: [UInt8]
    /// Loop time (ms) by which this connection must have logged in: longer while the challenge
    /// asks for more proof of work.
    var loginDeadline: UInt64 = .max
    var state: State
    var rooms: [RoomID: Subscription] = [:]
    var direct: Subscription?
    var messageBucket: TokenBucket?
    /// Whether the identity is in its first ``RateLimitSettings/newIdentityWindowSeconds``.
    var isNewIdentity = true
    /// Every frame that is not a message (those have ``messageBucket``).
    var frameBucket: TokenBucket?
    /// Epoch key bundles this connection may still share.
    var bundleBucket: TokenBucket?
    /// Room log entries this connection may still write.
    var logBucket: TokenBucket?
    /// When this connection joined each room (loop milliseconds).
    var joinedAt: [RoomID: UInt64] = [:]
    var strikes = 0
    var protocolErrors = 0
    /// Whether this device takes calls: off until its member turns them on (`callPreferences`).
    var acceptsCalls = false
    /// A counsellor's device on which members may call them.
    var offersCalls = false
    /// Joins and leaves of rooms.
    var roomBucket: TokenBucket?
    /// Changes to this connection's place in the line to a counsellor.
    var queueBucket: TokenBucket?
    /// The attachment tokens this connection holds (at most a few; they end with it).
    var uploadTokens: Set<[UInt8]> = []

    init(connection: WebSocketConnection, addressKey: [UInt8], challenge: AuthChallenge) {
        self.connection = connection
        self.addressKey = addressKey
        state = .awaitingAuth(challenge)
    }

    /// The logged-in member, if any.
    var member: MemberInfo? {
        if case .authenticated(let member) = state { return member }
        return nil
    }

    /// Delivers a frame now, or buffers it while a replay of the same stream is running. A
    /// client whose buffers pass `limit` bytes is disconnected as a slow consumer, as it would be
    /// if the frames were queued for writing.
    func deliver(_ frame: OutboundBytes, cursor: Int64, to subscription: inout Subscription, limit: Int) {
        switch subscription {
        case .live:
            connection.send(frame: frame)
        case .catchingUp(var buffer):
            bufferedBytes += frame.count
            guard bufferedBytes + connection.queuedBytes <= limit else {
                connection.close(.slowConsumer, reason: "too far behind")
                return
            }
            buffer.append((cursor, frame))
            subscription = .catchingUp(buffer: buffer)
        }
    }

    /// Releases the accounting for a buffer that has been flushed.
    func flushed(_ buffer: [(cursor: Int64, frame: OutboundBytes)]) {
        bufferedBytes -= buffer.reduce(0) { $0 + $1.frame.count }
    }
}
