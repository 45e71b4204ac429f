import Foundation
import HavenNet
import HavenProtocol
import HavenStore
import Sodium

/// Haven's server logic on the event loop: login, rooms, room messages, epoch key bundles and
/// direct messages, with rate limits. It sees ciphertext and routing metadata only.
///
/// Every method runs on the core's loop thread (loop 0: the connection loops report there, and
/// store completions are delivered there). Connections live on the connection loops
/// (``ConnectionLoop``), one of them on this same loop.
final class HavenServer {
    let loop: EventLoop
    let store: HavenStore
    let configuration: ServerConfiguration
    /// Frames messages once for however many recipients.
    let frames: WebSocketFrameEncoder
    /// The connection loops, by number (the first on this loop): set by ``connect(_:)``.
    private(set) var loopLinks: [LoopLink] = []
    var sessions: [Int: Session] = [:]
    var sessionsByMember: [MemberID: [Int: Session]] = [:]
    var rooms: [RoomID: LiveRoom] = [:]
    var addresses: AddressLimiter
    var counters = ServerCounters()
    var sanctions: Sanctions
    private var sweepTimer: LoopTimer?
    var retentionTimer: LoopTimer?
    var roomReloadTimer: LoopTimer?
    var purgeRunning = false
    /// Attachment tokens the sessions hold.
    var uploadTokens = UploadTokens()
    /// Uploads whose bodies are arriving now.
    var uploadsInProgress = UploadsInProgress()
    /// Those uploads by token, their parts going to the store as they come.
    var arrivingUploads: [[UInt8]: ArrivingUpload] = [:]
    /// What each identity may still report, ring, write and upload.
    var identities: IdentityLimiter
    /// Calls ringing or in progress, and their rules.
    var callRules: CallRules
    /// The organisation key and its newest staff roster: who may act as staff now.
    var staffTrust: StaffTrust?
    /// When staff online were last checked for expiry (loop milliseconds).
    var lastStaffSweep: UInt64 = 0
    /// Members who take private messages only from staff and people they wrote to
    /// (`directPreferences`): in memory for as long as the server runs, never stored.
    var staffOnlyRecipients: Set<MemberID> = []
    /// When each identity still in its first minutes first logged in (loop milliseconds).
    var identitiesFirstSeen: [MemberID: UInt64] = [:]
    /// Members waiting to talk to a counsellor (in memory only).
    var waitingLine = WaitingLine()
    /// A deleted message's wipe from the WAL did not complete: the next maintenance tick tries again.
    var wipePending = false
    /// Verified counsellors with a connection now.
    var counsellorsOnline: Set<MemberID> = []
    /// With other nodes: their waiting lines and counsellors online.
    var linesElsewhere = LinesElsewhere()
    /// Counsellors' takes of members waiting through another node, awaiting its word: the
    /// counsellor's connection, by member.
    var pendingTakes: [MemberID: Int] = [:]
    /// Rings for callees on other nodes, waiting for every node's word.
    var ringsElsewhere: [WireBytes: RingsElsewhere] = [:]
    /// The day whose address key this node last asked the others to agree on.
    var addressKeyAskedFor: UInt64?
    /// When it last asked (loop milliseconds).
    var addressKeyAskedAt: UInt64 = 0
    /// New identities over the last minute, which set the proof of work asked of the next.
    var newIdentityRate: NewIdentityRate
    /// Replays of stored history running or waiting, by client address.
    var replayTurns: ReplayTurns
    /// The number of the last replay begun.
    var nextReplay = 0
    /// Store operations submitted and not yet answered: past
    /// ``ServerConfiguration/maxStoreBacklog`` new messages are refused for a moment.
    var storeOperationsInFlight = 0
    /// The other nodes, when there are some (``ServerConfiguration/cluster``).
    var bus: NodeBus?
    /// With other nodes: the newest cursor of each stream this node has sent its members (for
    /// rooms and members it has connections in).
    var streamHeads: [ReplayStream: Int64] = [:]
    /// When this node last told the others who is in its rooms (loop milliseconds).
    var lastPresenceSaid: UInt64 = 0
    /// With other nodes: when each was last heard from (loop milliseconds).
    var nodesHeard: [[UInt8]: UInt64] = [:]
    /// Until when (loop milliseconds) no silent node is forgotten: Redis is away, or just back.
    var forgetNoNodeUntil: UInt64 = 0
    /// When a store failure was last logged (loop milliseconds): at most one line per ten
    /// seconds, so a database that is down does not flood the log.
    var storeFailureLoggedAt: UInt64?

    /// Creates the server on the loop thread with the rooms loaded from the store; it serves
    /// once its connection loops are connected (``connect(_:)``) and listening.
    ///
    /// - Throws: ``UVError`` when a timer cannot be made.
    init(loop: EventLoop, store: HavenStore, configuration: ServerConfiguration, rooms: [LoadedRoom], sanctions: [SanctionRecord]) throws {
        loop.preconditionInLoop()
        self.loop = loop
        self.store = store
        self.configuration = configuration
        self.sanctions = Sanctions(sanctions)
        callRules = CallRules(settings: configuration.calls)
        newIdentityRate = NewIdentityRate(settings: configuration.proofOfWork)
        replayTurns = ReplayTurns(perAddress: configuration.rateLimits.addressReplaysAtOnce)
        staffTrust = configuration.organisationPublicKey.map(StaffTrust.init(organisation:))
        identities = IdentityLimiter(settings: configuration.rateLimits, quotas: configuration.attachments, calls: configuration.calls)
        addresses = try AddressLimiter(
            settings: configuration.rateLimits, quotas: configuration.attachments, calls: configuration.calls,
            wallClockSeconds: UInt64(configuration.now()))
        for room in rooms { self.rooms[room.id] = LiveRoom(room, organisation: configuration.organisationPublicKey) }
        frames = try WebSocketFrameEncoder()
        let timer = try LoopTimer(loop: loop) { [unowned self] in sweep() }
        timer.start(after: 1000, repeatEvery: 1000)
        sweepTimer = timer
        try startMaintenance()
    }

    /// The longest message taken before login (an `auth` is a few hundred bytes).
    static let maxMessageBytesBeforeLogin = 4096

    /// Takes the links to the connection loops, by number: the first is the one on this loop.
    func connect(_ links: [LoopLink]) {
        loopLinks = links
    }

    /// Stops the server's timers (the connection loops close the connections).
    func shutdown() {
        sweepTimer?.close()
        sweepTimer = nil
        stopMaintenance()
    }

    // MARK: Connections

    func opened(_ connection: MemberConnection) {
        counters.connectionsAccepted += 1
        let addressKey = addresses.key(for: connection.clientAddress, wallClockSeconds: UInt64(configuration.now()))
        let work = newIdentityRate.bits(now: loop.nowMilliseconds)
        let challenge = AuthChallenge(server: configuration.serverName, work: work > 0 ? work : nil)
        let session = Session(connection: connection, addressKey: addressKey, challenge: challenge)
        // A slow phone solving a hard proof gets the time it needs (about 20,000 hashes a second).
        session.loginDeadline = loop.nowMilliseconds + configuration.loginTimeoutMilliseconds + (UInt64(1) << UInt64(work)) / 20
        sessions[connection.id] = session
        guard addresses.allowConnection(addressKey, now: loop.nowMilliseconds) else {
            counters.rateLimited += 1
            send(.error(ErrorFrame(code: "rate_limited", message: "too many connections from this network; try again later")), to: session)
            connection.close(.tryAgainLater, reason: "too many connections")
            return
        }
        send(.challenge(challenge), to: session)
    }

    func received(_ received: ReceivedFrame, from session: Session) {
        let frame: Frame
        switch received.frame {
        case .success(let decoded):
            frame = decoded
        case .failure(let error):
            refuse(session, code: error.code, message: error.description)
            return
        }
        switch session.state {
        case .awaitingAuth(let challenge):
            authenticate(frame, challenge: challenge, session: session)
        case .authenticating:
            refuse(session, code: "not_authenticated", message: "wait for welcome before sending")
        case .authenticated(let member):
            guard allowFrame(frame, from: session) else { return }
            handle(frame, from: session, member: member, prepared: received.prepared)
        }
    }

    func closed(_ id: Int) {
        guard let session = sessions.removeValue(forKey: id) else { return }
        uploadTokens.revoke(connection: id)
        pendingTakes = pendingTakes.filter { $0.value != id }
        for replay in session.replaysRunning { finishReplay(replay) }
        for room in session.rooms.keys { removeFromRoom(session, room: room) }
        session.rooms.removeAll()
        if let member = session.member?.member {
            sessionsByMember[member]?[id] = nil
            if sessionsByMember[member]?.isEmpty == true {
                sessionsByMember[member] = nil
                lastConnectionHereClosed(of: member)
                queueLoggedOut(member)
            }
            endCalls(ofClosed: id, member: member)
        }
    }

    // MARK: Login

    private func authenticate(_ frame: Frame, challenge: AuthChallenge, session: Session) {
        guard case .auth(let response) = frame else {
            refuse(session, code: "not_authenticated", message: "log in first")
            return
        }
        do {
            try challenge.verify(response)
        } catch {
            refuse(session, code: error.code, message: error.description)
            return
        }
        guard !sanctions.isBanned(response.member) else {
            refuse(session, code: "banned", message: "this identity is banned")
            return
        }
        session.state = .authenticating
        let member = MemberInfo(member: response.member, displayName: response.displayName)
        let memberBytes = response.member.bytes
        let name = response.displayName
        let now = configuration.now()
        // A new identity shows the work its challenge asked for; a known one need not.
        let work = challenge.work ?? 0
        let proved = work == 0 || response.proof.map { ProofOfWork.isValid($0.bytes, bits: work, challenge: challenge, member: response.member) } ?? false
        withStore({ database -> (proof: MemberProof, isNew: Bool)? in
            let isNew = try !database.memberExists(memberBytes)
            guard proved || !isNew else { return nil }
            try database.upsertMember(memberBytes, displayName: name, now: now)
            return (try MemberProof(member: memberBytes, in: database), isNew)
        }) { [unowned self] result in
            guard sessions[session.connection.id] === session else { return }
            switch result {
            case .failure:
                send(.error(ErrorFrame(code: "store_failed", message: "login could not be recorded; try again")), to: session)
                session.connection.close(.internalError, reason: "store failed")
            case .success(nil):
                counters.proofsRefused += 1
                refuse(session, code: "proof_required", message: "a new identity shows the proof of work its challenge asked for (\(work) bits)")
            case .success(let (proof, firstLogin)?):
                // A ban that took effect while the login was being stored disconnected the
                // identity's sessions before this one was among them.
                guard !sanctions.isBanned(member.member) else {
                    refuse(session, code: "banned", message: "this identity is banned")
                    return
                }
                if firstLogin {
                    counters.newIdentities += 1
                    newIdentityRate.record(now: loop.nowMilliseconds)
                    identitiesFirstSeen[member.member] = loop.nowMilliseconds
                    bus?.publish(.newIdentity, key: member.member.bytes)
                }
                let member = currentRole(proof.info(member: member.member, displayName: member.displayName))
                let isNew = isNewIdentity(member.member)
                session.isNewIdentity = isNew
                session.budgets = ConnectionBudgets(settings: configuration.rateLimits, isNewIdentity: isNew, now: loop.nowMilliseconds)
                session.state = .authenticated(member)
                session.connection.limitMessages(to: configuration.network.maxMessageBytes)
                if sessionsByMember[member.member] == nil { firstConnectionHere(of: member.member) }
                sessionsByMember[member.member, default: [:]][session.connection.id] = session
                counters.logins += 1
                send(.welcome(Welcome(member: member.member)), to: session)
                if let roster = staffTrust?.roster { send(.staffRoster(StaffRosterFrame(roster: roster)), to: session) }
                queueLoggedIn(session, member: member)
            }
        }
    }

    // MARK: Dispatch

    /// Carries out a logged-in member's frame; a room or private message comes `prepared` by the
    /// loop it arrived on (or is prepared here).
    func handle(_ frame: Frame, from session: Session, member: MemberInfo, prepared: PreparedMessage?) {
        switch frame {
        case .createRoom(let request):
            createRoom(request, session: session, member: member)
        case .requestUploadToken:
            issueUploadToken(session: session, member: member)
        case .requestTurn(let request):
            issueTurnCredentials(for: request.call, session: session, member: member)
        case .listAudit(let request):
            sendAudit(request, session: session, member: member)
        case .listRooms:
            let list = rooms.values.filter { $0.kind == "support" || member.staff != nil }.sorted { $0.id.value < $1.id.value }.map {
                RoomInfo(room: $0.id, name: $0.name, kind: $0.kind, online: online(in: $0), retentionSeconds: $0.retentionSeconds)
            }
            send(.rooms(RoomList(rooms: list)), to: session)
        case .join(let request):
            guard allowRoomChange(session, room: request.room) else { return }
            join(session, member: member, request: request)
        case .leave(let reference):
            guard allowRoomChange(session, room: reference.room) else { return }
            leave(session, member: member, room: reference.room)
        case .send(let envelopeFrame):
            sendRoomMessage(envelopeFrame.envelope, from: session, member: member, prepared: prepared ?? PreparedMessage(envelopeFrame.envelope))
        case .appendLog(let logFrame):
            appendLog(logFrame.entry, from: session, member: member)
        case .getLog(let request):
            sendLog(of: request.room, from: request.logLength, to: session)
        case .keyBundle(let bundleFrame):
            routeKeyBundle(bundleFrame.bundle, from: session, member: member)
        case .direct(let directFrame):
            sendDirectMessage(directFrame.message, from: session, member: member, prepared: prepared ?? PreparedMessage(directFrame.message))
        case .syncDirect(let request):
            _ = beginCatchingUp(session, stream: .direct(member.member))
            replay(session, stream: .direct(member.member), after: Int64(request.after))
        case .getInvite(let request):
            lookUpInvite(request.id, session: session)
        case .redeemInvite(let staff):
            redeemInvite(staff.certificate, session: session, member: member)
        case .moderate(let request):
            moderate(request.action, session: session, member: member)
        case .report(let request):
            file(request.report, session: session, member: member)
        case .listReports(let request):
            listReports(request, session: session, member: member)
        case .callSignal(let callFrame):
            routeCallSignal(callFrame, from: session, member: member)
        case .callPreferences(let preferences):
            setCallPreferences(preferences, session: session, member: member)
        case .directPreferences(let preferences):
            if preferences.from == .staffOnly { staffOnlyRecipients.insert(member.member) } else { staffOnlyRecipients.remove(member.member) }
            // What the member's device says it wrote to before this connection counts as written
            // on it: a conversation the member started goes on after a reload or a dropped connection.
            session.talkingTo.formUnion(preferences.writtenTo ?? [])
        case .askCounsellor:
            askCounsellor(session: session, member: member)
        case .leaveQueue:
            leaveQueue(session: session, member: member)
        case .takeFromQueue(let take):
            takeFromQueue(take, session: session, member: member)
        case .auth:
            refuse(session, code: "already_authenticated", message: "this connection is already logged in")
        case .challenge, .welcome, .rooms, .joined, .logEntry, .logEntries, .memberJoined, .memberLeft, .synced, .ack, .message, .error, .invite, .certified, .staffRoster, .moderated, .epochChanged, .reports, .uploadToken, .audit, .turn,
             .callAvailability, .callEnded, .availability, .counsellorQueue, .queueTaken, .concern:
            refuse(session, code: "unexpected_frame", message: "\(frame.type) frames are sent by the server only")
        }
    }

    // MARK: Sending

    /// Encodes `frame` once and sends it to `session`.
    func send(_ frame: Frame, to session: Session) {
        session.connection.send(frame: frames.textFrame(FrameCodec.encode(frame)))
    }

    /// Encodes `frame` once, for sending the same bytes to many sessions.
    func encode(_ frame: Frame) -> OutboundBytes {
        frames.textFrame(FrameCodec.encode(frame))
    }

    /// Answers a refused frame with an error; before login it also ends the connection, and an
    /// authenticated client that keeps sending bad frames is disconnected.
    func refuse(_ session: Session, code: String, message: String, id: MessageID? = nil, room: RoomID? = nil, call: WireBytes? = nil) {
        counters.protocolErrors += 1
        send(.error(ErrorFrame(code: code, message: message, id: id, room: room, call: call)), to: session)
        guard session.member != nil else {
            session.connection.close(.authenticationFailed, reason: "login failed")
            return
        }
        session.protocolErrors += 1
        if session.protocolErrors > configuration.maxProtocolErrors {
            session.connection.close(.policyViolation, reason: "too many invalid frames")
        }
    }

    /// Runs `work` on the store's writer thread and `then` on the loop thread after the commit.
    func withStore<Value: Sendable>(
        _ work: @escaping @Sendable (StoreDatabase) throws -> Value, then: @escaping (Result<Value, StoreError>) -> Void
    ) {
        throughStore({ store, completion in store.perform(work, completion: completion) }, then: then)
    }

    /// Hands `submit` (a call on the store) a completion that runs `then` on the loop thread,
    /// counting the operation while it is in flight and logging a failure an operator must see.
    func throughStore<Value: Sendable>(
        _ submit: (HavenStore, @escaping @Sendable (Result<Value, StoreError>) -> Void) -> Void,
        then: @escaping (Result<Value, StoreError>) -> Void
    ) {
        storeOperationsInFlight += 1
        let completion = LoopBound<(Result<Value, StoreError>) -> Void>({ [unowned self] result in
            storeOperationsInFlight -= 1
            if case .failure(let error) = result { logStoreFailure(error) }
            then(result)
        }, loop: loop)
        submit(store) { result in completion.value(result) }
    }

    /// Logs a store failure an operator must see (the database down, a statement refused),
    /// not the ones that answer a request (a duplicate, a room that does not exist).
    private func logStoreFailure(_ error: StoreError) {
        switch error {
        case .notFound, .conflict, .closed: return
        default: break
        }
        let now = loop.nowMilliseconds
        if let last = storeFailureLoggedAt, now &- last < 10_000 { return }
        storeFailureLoggedAt = now
        ServerLog.warning("store: \(error)")
    }

    /// Whether `member` first logged in less than ``RateLimitSettings/newIdentityWindowSeconds``
    /// ago. The store keeps no first-seen time, so this is known in memory only: an identity
    /// first seen before the server started counts as established.
    func isNewIdentity(_ member: MemberID) -> Bool {
        guard let firstSeen = identitiesFirstSeen[member] else { return false }
        return Double(loop.nowMilliseconds &- firstSeen) < configuration.rateLimits.newIdentityWindowSeconds * 1000
    }

    private func sweep() {
        clusterTick()
        let now = loop.nowMilliseconds
        // One pass over the sessions for everything timed per session.
        for session in sessions.values {
            if session.member == nil, now > session.loginDeadline {
                session.connection.close(.timeout, reason: "login timed out")
            }
            dropIfReplayStalled(session, now: now)
        }
        addresses.prune(now: now)
        identities.prune(now: now)
        identitiesFirstSeen = identitiesFirstSeen.filter { isNewIdentity($0.key) }
        expireRinging()
        sweepWaitingLine()
    }
}
