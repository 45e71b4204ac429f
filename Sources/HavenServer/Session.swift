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

    /// Whether a replay (numbered, so a newer one supersedes it) is still running, or the
    /// stream is live.
    enum Subscription {
        /// Live messages are not sent meanwhile: the replay reads them from the store. `announced`:
        /// the replay ends with `synced` (the client asked for it), unless the stream only fell
        /// behind.
        case catchingUp(replay: Int, announced: Bool)
        case live

        /// The replay running, if any.
        var replay: Int? {
            if case .catchingUp(let replay, _) = self { return replay }
            return nil
        }
    }

    let connection: MemberConnection
    let addressKey: [UInt8]
    /// Loop time (ms) by which this connection must have logged in: longer while the challenge
    /// asks for more proof of work.
    var loginDeadline: UInt64 = .max
    var state: State
    var rooms: [RoomID: Subscription] = [:]
    var direct: Subscription?
    /// Whether the identity is in its first ``RateLimitSettings/newIdentityWindowSeconds``.
    var isNewIdentity = true
    /// What this connection may still do, and its refusals in a row: set at login.
    var budgets: ConnectionBudgets?
    /// When this connection joined each room (loop milliseconds).
    var joinedAt: [RoomID: UInt64] = [:]
    /// Messages from this connection waiting for the store.
    var messagesAwaitingStore = 0
    /// Not read until those messages are answered (``HavenServer/storeMessage(from:_:then:)``).
    var readingPaused = false
    var protocolErrors = 0
    /// Whether this device takes calls: off until its member turns them on (`callPreferences`).
    var acceptsCalls = false
    /// A counsellor's device on which members may call them.
    var offersCalls = false
    /// Whom this connection wrote to privately (or its device says it wrote to before, in
    /// `directPreferences`): a counsellor among them may call it, and any of them may write back
    /// to a member who takes messages only from counsellors. Held in memory for the connection's
    /// life only, since direct messages are stored without their sender.
    var talkingTo: Set<MemberID> = []
    /// The counsellors who took this connection's member from the line: they may call it (while
    /// they are counsellors: a revoked one may not).
    var takenBy: Set<MemberID> = []
    /// Replays waiting for this client to read what they sent, since when (loop milliseconds).
    var replaysWaiting: [Int: UInt64] = [:]
    /// Whether a page of a replay is being read from the store for this connection.
    var readingPage = false
    /// Page reads of other replays on this connection, waiting for that one.
    var pagesWaitingToBeRead: [() -> Void] = []
    /// Streams whose loop stopped sending them live, each with the number of its latest fall
    /// behind: told when the stream is live again.
    var falls: [ReplayStream: Int] = [:]
    /// Where each stream's latest replay ended: live messages up to there reached the client
    /// with it (with other nodes, one may be heard after it was read from the store).
    var replayedThrough: [ReplayStream: Int64] = [:]
    /// The newest cursor heard from another node for which a replay read one more page.
    var rereadFor: [ReplayStream: Int64] = [:]
    /// Streams whose replay reads one more page before going live (something may have been
    /// missed while it read: Redis was away, a node was lost).
    var mustReadAgain: Set<ReplayStream> = []

    init(connection: MemberConnection, addressKey: [UInt8], challenge: AuthChallenge) {
        self.connection = connection
        self.addressKey = addressKey
        state = .awaitingAuth(challenge)
    }

    /// The logged-in member, if any.
    var member: MemberInfo? {
        if case .authenticated(let member) = state { return member }
        return nil
    }

    /// Starts the next page read waiting, unless one is under way.
    func readNextPage() {
        guard !readingPage, !pagesWaitingToBeRead.isEmpty else { return }
        pagesWaitingToBeRead.removeFirst()()
    }

    /// The replays this connection is running.
    var replaysRunning: [Int] {
        rooms.values.compactMap(\.replay) + [direct?.replay].compactMap { $0 }
    }
}
