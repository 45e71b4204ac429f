import Foundation
public import HavenNet
public import HavenProtocol
public import Sodium

/// Haven's Swift client: logs in with its identity key, joins rooms, sends and receives
/// end-to-end-encrypted room and direct messages, shares and receives epoch keys, and resumes
/// from its cursors after a reconnect, so nothing is missed or seen twice.
///
/// The async methods may be called from any task; the client's state lives on its event loop
/// thread. Events arrive in order on ``events``.
public final class HavenClient: @unchecked Sendable {
    // @unchecked Sendable: every mutable property below is read and written only on `loop`'s
    // thread (public methods hop there with `loop.execute`).

    /// This client's identity (its Ed25519 keypair; the public key is its member id).
    public let identity: SigningKeyPair
    /// The member id.
    public let member: MemberID
    /// The pseudonym it logs in with.
    public let displayName: String
    /// Everything that happens, in order.
    public let events: AsyncStream<ClientEvent>

    let loop: EventLoop
    let eventSink: AsyncStream<ClientEvent>.Continuation
    var connection: WebSocketClientConnection?
    /// The organisation key staff proofs in room logs must chain to.
    public let organisation: SigningPublicKey?
    /// What this client believes about staff: the pinned key, the newest roster, invites' first keys.
    var staffTrust: StaffTrust?
    var roomStates: [RoomID: RoomState] = [:]
    var ownInfo: MemberInfo?
    var expectedServer: String?
    var directCounters = DirectCounters()
    var roomCursors: [RoomID: UInt64] = [:]
    var directCursor: UInt64 = 0
    var joinedRooms: Set<RoomID> = []
    var pendingLogin: CheckedContinuation<Void, any Error>?
    var pendingJoins: [RoomID: CheckedContinuation<Joined, any Error>] = [:]
    var joinReplies: [RoomID: Joined] = [:]
    var pendingAcks: [MessageID: CheckedContinuation<UInt64, any Error>] = [:]
    var keyWaiters: [RoomID: [CheckedContinuation<Void, Never>]] = [:]
    var pendingModerations: [MessageID: CheckedContinuation<Void, any Error>] = [:]
    var pendingReports: CheckedContinuation<ReportList, any Error>?
    var pendingAudit: CheckedContinuation<AuditTrail, any Error>?
    var pendingRoomLists: [CheckedContinuation<[RoomInfo], any Error>] = []
    var pendingTokens: [CheckedContinuation<UploadToken, any Error>] = []
    var pendingTurn: [CheckedContinuation<TurnCredentials, any Error>] = []
    var pendingCreations: [RoomID: CheckedContinuation<[RoomInfo], any Error>] = [:]
    var pendingInvite: CheckedContinuation<InviteCertificate, any Error>?
    var pendingCertification: CheckedContinuation<StaffCertificate, any Error>?

    /// Creates a client on `loop` (which must be running). Several clients may share a loop.
    /// `organisation` is the provider's organisation key, pinned by whoever runs the client:
    /// without it no staff proof verifies, so private rooms and moderation entries are refused.
    public init(identity: SigningKeyPair, displayName: String, loop: EventLoop, organisation: SigningPublicKey? = nil) {
        self.identity = identity
        self.organisation = organisation
        staffTrust = organisation.map(StaffTrust.init(organisation:))
        self.member = MemberID(identity.publicKey)
        self.displayName = displayName
        self.loop = loop
        (events, eventSink) = AsyncStream.makeStream(of: ClientEvent.self)
    }

    /// `info`'s role as this client verifies it now: a chain to the pinned organisation key that
    /// the newest roster has not revoked and that has not expired; nil for a member.
    public func role(of info: MemberInfo) async -> StaffRole? {
        await onLoop { [self] in verifiedRole(info) }
    }

    /// ``role(of:)`` on the loop.
    func verifiedRole(_ info: MemberInfo) -> StaffRole? {
        staffTrust?.role(of: info, at: UInt64(Date().timeIntervalSince1970))
    }

    deinit {
        eventSink.finish()
        if let connection {
            let bound = LoopBound(connection, loop: loop)
            loop.execute { bound.value.close(.goingAway) }
        }
    }

    /// Connects, logs in, replays missed direct messages, and re-joins (with replay) every room
    /// joined before; returns once all of that is done. With `serverName`, a challenge naming
    /// any other server is refused before anything is signed. With `tls` the connection is
    /// `wss://`: the server's certificate must verify for `tls.serverName`.
    ///
    /// - Throws: ``ClientError``.
    public func connect(
        host: String, port: Int, origin: String? = nil, serverName: String? = nil, tls: TLSClientSettings? = nil
    ) async throws {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            loop.execute { [self] in
                pendingLogin = continuation
                expectedServer = serverName
                WebSocketClientConnection.connect(loop: loop, host: host, port: port, origin: origin, tls: tls) { [self] result in
                    switch result {
                    case .failure(let error):
                        finishLogin(.failure(ClientError.connectFailed(error)))
                    case .success(let connection):
                        attach(connection)
                    }
                }
            }
        }
    }

    /// Joins `room`. A room joined before resumes after its last cursor; a first join replays
    /// the room's kept history when `replayHistory` is true, else starts from now. Returns the
    /// room's state once the replay is complete.
    public func join(_ room: RoomID, replayHistory: Bool = false) async throws -> Joined {
        try await withCheckedThrowingContinuation { continuation in
            loop.execute { [self] in
                guard let connection else {
                    continuation.resume(throwing: ClientError.notConnected)
                    return
                }
                pendingJoins[room] = continuation
                joinedRooms.insert(room)
                connection.send(text: FrameCodec.encode(.join(joinRequest(room, replayHistory: replayHistory))))
            }
        }
    }

    /// Encrypts and sends `text` to `room`; returns the cursor once the server has stored it.
    ///
    /// - Throws: ``ClientError/noEpochKey(_:)`` before the room's key arrived (or while the room
    ///   needs a new epoch, or this client's log is behind another member's), or a refusal.
    public func send(_ text: String, to room: RoomID, id: MessageID = .random()) async throws -> UInt64 {
        try await send(MessageBody(text: text), to: room, id: id)
    }

    /// Encrypts and sends `body` to `room`; returns the cursor once the server has stored it.
    public func send(_ body: MessageBody, to room: RoomID, id: MessageID = .random()) async throws -> UInt64 {
        try await awaitAck(id) { [self] in
            guard canSend(in: room), let envelope = try roomStates[room]?.keyring.seal(body, id: id) else {
                throw ClientError.noEpochKey(room)
            }
            return .send(EnvelopeFrame(envelope: envelope))
        }
    }

    /// Seals `text` to `recipient` and sends it; returns the cursor once the server has stored it.
    public func sendDirect(_ text: String, to recipient: MemberID, id: MessageID = .random()) async throws -> UInt64 {
        try await awaitAck(id) { [self] in
            let body = MessageBody(text: text, counter: directCounters.counter(for: id, to: recipient))
            return .direct(DirectFrame(message: try DirectMessage.seal(body, from: identity, to: recipient, id: id)))
        }
    }

    /// Redeems a staff invite from the fragment of its link (after `#invite=`): fetches the
    /// invite, checks it was signed by `organisation`, signs this client's key with the link's
    /// one-time secret, and returns the staff certificate once the server accepted it.
    ///
    /// - Throws: ``ClientError/refused(code:message:)`` for an unknown, used, revoked or expired
    ///   invite; ``ClientError/invalid(_:)`` for a link or invite that does not check out.
    public func redeemInvite(_ fragment: String, organisation: SigningPublicKey) async throws -> StaffCertificate {
        let (id, seed) = try InviteLink.parse(fragment)
        let invite = try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<InviteCertificate, any Error>) in
            loop.execute { [self] in
                guard let connection else { return continuation.resume(throwing: ClientError.notConnected) }
                pendingInvite = continuation
                connection.send(text: FrameCodec.encode(.getInvite(InviteRequest(id: WireBytes(id)))))
            }
        }
        do {
            try invite.verify(organisation: organisation)
        } catch {
            throw ClientError.invalid(error)
        }
        let certificate: StaffCertificate
        do {
            certificate = try StaffCertificate.redeem(invite, seed: seed, member: member)
        } catch let error as ProtocolError {
            throw ClientError.invalid(error)
        }
        return try await withCheckedThrowingContinuation { continuation in
            loop.execute { [self] in
                guard let connection else { return continuation.resume(throwing: ClientError.notConnected) }
                pendingCertification = continuation
                connection.send(text: FrameCodec.encode(.redeemInvite(StaffFrame(certificate: certificate))))
            }
        }
    }

    /// Signs and sends a moderation action (staff only), with the `reason` the member concerned is
    /// shown; returns once the server applied it.
    ///
    /// - Throws: ``ClientError/refused(code:message:)``, e.g. `not_a_moderator`.
    @discardableResult
    public func moderate(
        _ kind: ModerationKind, room: RoomID? = nil, target: MemberID? = nil, message: MessageID? = nil,
        until: UInt64? = nil, lifts: MessageID? = nil, reason: String? = nil, issuedAt: UInt64? = nil
    ) async throws -> ModerationAction {
        let action = ModerationAction.sign(
            kind, room: room, target: target, message: message, until: until, lifts: lifts, reason: reason,
            issuedAt: issuedAt ?? UInt64(Date().timeIntervalSince1970), by: identity)
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            loop.execute { [self] in
                guard let connection else { return continuation.resume(throwing: ClientError.notConnected) }
                pendingModerations[action.id] = continuation
                connection.send(text: FrameCodec.encode(.moderate(ModerationFrame(action: action))))
            }
        }
        return action
    }

    /// Reports a direct message this client received: reveals that one message's body, franking
    /// key and the sender's signature, and nothing else. Returns once the server recorded it.
    public func reportDirect(_ message: OpenedMessage, category: ReportCategory) async throws {
        let report = Report(category: category, message: message.id, sender: message.sender, evidence: ReportEvidence(message))
        _ = try await awaitAck(report.id) { .report(ReportFrame(report: report)) }
    }

    /// Reports a room message by id (staff in the room can read it).
    public func reportRoomMessage(_ id: MessageID, sender: MemberID, in room: RoomID, category: ReportCategory) async throws {
        let report = Report(category: category, room: room, message: id, sender: sender)
        _ = try await awaitAck(report.id) { .report(ReportFrame(report: report)) }
    }

    /// Time-limited TURN relay credentials for `call`, which this connection is a party to.
    ///
    /// - Throws: ``ClientError/refused(code:message:)`` (`turn_unavailable`, `no_call`, `suspended`).
    public func turnCredentials(for call: WireBytes) async throws -> TurnCredentials {
        try await withCheckedThrowingContinuation { continuation in
            loop.execute { [self] in
                guard let connection else { return continuation.resume(throwing: ClientError.notConnected) }
                pendingTurn.append(continuation)
                connection.send(text: FrameCodec.encode(.requestTurn(TurnRequest(call: call))))
            }
        }
    }

    /// Seals `signal` to `recipient` and sends it. Signals are not acknowledged: a refusal arrives
    /// as ``ClientEvent/serverError(_:)`` with the call's id.
    public func sendCallSignal(_ signal: CallSignal, to recipient: MemberID) async throws {
        let frame = try CallFrame.seal(signal, from: identity, to: recipient)
        await sendFrame(.callSignal(frame))
    }

    /// Sets this connection's call settings: block incoming calls, and (counsellors) offer calls.
    public func setCallPreferences(acceptCalls: Bool, offerCalls: Bool = false) async {
        await sendFrame(.callPreferences(CallPreferences(acceptCalls: acceptCalls, offerCalls: offerCalls)))
    }

    /// Says from whom this member takes private messages, and (`writtenTo`) whom this device
    /// wrote to before this connection: they may go on writing back.
    public func setDirectPreferences(from senders: DirectPreferences.Senders, writtenTo: [MemberID]? = nil) async {
        await sendFrame(.directPreferences(DirectPreferences(from: senders, writtenTo: writtenTo)))
    }

    /// Asks to talk to a counsellor: this member joins the line (``ClientEvent/availability(_:)``
    /// then carries their place, and ``ClientEvent/queueTaken(_:counsellorVerified:)`` says who took them).
    public func askCounsellor() async {
        await sendFrame(.askCounsellor(NoFields()))
    }

    /// Stops waiting for a counsellor.
    public func leaveQueue() async {
        await sendFrame(.leaveQueue(NoFields()))
    }

    /// For counsellors: takes a waiting member (refused with `no_longer_waiting` if another
    /// counsellor was first or they stopped waiting).
    public func takeFromQueue(_ member: MemberID) async {
        await sendFrame(.takeFromQueue(QueueTake(member: member)))
    }

    /// A short-lived token for uploading and downloading attachment blobs over HTTP.
    public func uploadToken() async throws -> UploadToken {
        try await withCheckedThrowingContinuation { continuation in
            loop.execute { [self] in
                guard let connection else { return continuation.resume(throwing: ClientError.notConnected) }
                pendingTokens.append(continuation)
                connection.send(text: FrameCodec.encode(.requestUploadToken(NoFields())))
            }
        }
    }

    /// The rooms this member may join (staff also see private rooms).
    public func rooms() async throws -> [RoomInfo] {
        try await withCheckedThrowingContinuation { continuation in
            loop.execute { [self] in
                guard let connection else { return continuation.resume(throwing: ClientError.notConnected) }
                pendingRoomLists.append(continuation)
                connection.send(text: FrameCodec.encode(.listRooms(NoFields())))
            }
        }
    }

    /// Creates a room (staff only); returns the room list once it exists.
    @discardableResult
    public func createRoom(_ room: RoomID, name: String, kind: String = "support") async throws -> [RoomInfo] {
        try await withCheckedThrowingContinuation { continuation in
            loop.execute { [self] in
                guard let connection else { return continuation.resume(throwing: ClientError.notConnected) }
                pendingCreations[room] = continuation
                connection.send(text: FrameCodec.encode(.createRoom(CreateRoom(room: room, name: name, kind: kind))))
            }
        }
    }

    /// The newest reports (staff only).
    public func reports() async throws -> [ReportEntry] {
        try await reportPage().reports
    }

    /// For staff: a page of reports, newest first, older than report `before` when given; its
    /// `next` starts the following page.
    public func reportPage(before: MessageID? = nil) async throws -> ReportList {
        try await withCheckedThrowingContinuation { continuation in
            loop.execute { [self] in
                guard let connection else { return continuation.resume(throwing: ClientError.notConnected) }
                pendingReports = continuation
                connection.send(text: FrameCodec.encode(.listReports(ReportPageRequest(before: before))))
            }
        }
    }

    /// For staff: a page of `room`'s audit trail, the newest actions or those before `before`
    /// (a page's `next`), oldest first.
    public func auditPage(_ room: RoomID, before: Int64? = nil) async throws -> AuditTrail {
        try await withCheckedThrowingContinuation { continuation in
            loop.execute { [self] in
                guard let connection else { return continuation.resume(throwing: ClientError.notConnected) }
                pendingAudit = continuation
                connection.send(text: FrameCodec.encode(.listAudit(AuditPageRequest(room: room, before: before))))
            }
        }
    }

    /// Waits until this client holds the current epoch key of `room` and may send under it.
    public func waitForKey(_ room: RoomID) async {
        await withCheckedContinuation { continuation in
            loop.execute { [self] in
                if canSend(in: room) {
                    continuation.resume()
                } else {
                    keyWaiters[room, default: []].append(continuation)
                }
            }
        }
    }

    /// Who holds the current epoch key of `room`, as shown by signed bundles this client has
    /// checked (sealed by members entitled to the epoch, starting from the member who started
    /// it), not by the server's word: a member added behind the room's back would appear here.
    public func keyHolders(in room: RoomID) async -> [MemberID] {
        await onLoop { [self] in
            guard let keyring = roomStates[room]?.keyring, let epoch = keyring.log.currentEpoch?.epoch else { return [] }
            return RoomLogEntry.sorted(Array(keyring.holders[epoch] ?? []))
        }
    }

    /// The current epoch of `room` as this client's verified log gives it.
    public func epoch(of room: RoomID) async -> UInt64? {
        await onLoop { [self] in roomStates[room]?.keyring.log.currentEpoch?.epoch }
    }

    /// The members of `room` by this client's verified log: the only people it seals keys to.
    public func members(of room: RoomID) async -> Set<MemberID> {
        await onLoop { [self] in roomStates[room]?.keyring.log.members ?? [] }
    }

    /// The current epoch's key of `room`, if this client holds it (tests use it to send what a
    /// correct client would not).
    public func currentKey(of room: RoomID) async -> EpochKey? {
        await onLoop { [self] in roomStates[room]?.keyring.currentKey }
    }

    /// The room's verified log, as this client holds it.
    public func log(of room: RoomID) async -> RoomLog? {
        await onLoop { [self] in roomStates[room]?.keyring.log }
    }

    /// Leaves `room`: writes a signed `leave` into its log (the others then start a new epoch
    /// without this member) and unsubscribes. Returns once the log holds the entry.
    public func leave(_ room: RoomID) async throws {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            loop.execute { [self] in
                guard connection != nil, roomStates[room] != nil else { return continuation.resume(throwing: ClientError.notConnected) }
                roomStates[room]?.leaving = continuation
                reconcile(room)
            }
        }
    }

    private func onLoop<Value: Sendable>(_ body: @escaping @Sendable () -> Value) async -> Value {
        await withCheckedContinuation { continuation in
            loop.execute { continuation.resume(returning: body()) }
        }
    }

    /// The last cursor seen in `room` (for tests and resumption checks).
    public func cursor(in room: RoomID) async -> UInt64? {
        await withCheckedContinuation { continuation in
            loop.execute { [self] in continuation.resume(returning: roomCursors[room]) }
        }
    }

    /// Closes the connection (the client can ``connect(host:port:origin:)`` again later).
    /// `abruptly` drops the TCP connection without a close handshake.
    public func disconnect(abruptly: Bool = false) async {
        await withCheckedContinuation { continuation in
            loop.execute { [self] in
                if abruptly { connection?.abort() } else { connection?.close(.normal) }
                continuation.resume()
            }
        }
    }

    /// Sends a frame exactly as given (tests use it to send what a correct client would not).
    public func sendRaw(_ text: String) async {
        await sendText(Array(text.utf8))
    }

    private func sendFrame(_ frame: Frame) async {
        await sendText(FrameCodec.encode(frame))
    }

    private func sendText(_ text: [UInt8]) async {
        await withCheckedContinuation { continuation in
            loop.execute { [self] in
                connection?.send(text: text)
                continuation.resume()
            }
        }
    }

    private func awaitAck(_ id: MessageID, frame: @escaping @Sendable () throws -> Frame) async throws -> UInt64 {
        try await withCheckedThrowingContinuation { continuation in
            loop.execute { [self] in
                guard let connection else {
                    continuation.resume(throwing: ClientError.notConnected)
                    return
                }
                do {
                    let built = try frame()
                    pendingAcks[id] = continuation
                    connection.send(text: FrameCodec.encode(built))
                } catch let error as ProtocolError {
                    continuation.resume(throwing: ClientError.invalid(error))
                } catch {
                    continuation.resume(throwing: error)
                }
            }
        }
    }
}
