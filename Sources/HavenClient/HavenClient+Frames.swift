import HavenNet
import HavenProtocol
import Sodium

extension HavenClient {
    func attach(_ connection: WebSocketClientConnection) {
        self.connection = connection
        // Weak: the connection may outlive a client its owner has released.
        connection.onText = { [weak self] text in
            guard let self, let frame = try? FrameCodec.decode(Array(text)) else { return }
            handle(frame)
        }
        connection.onClose = { [weak self] code in self?.detached(closeCode: code) }
    }

    func finishLogin(_ result: Result<Void, any Error>) {
        let continuation = pendingLogin
        pendingLogin = nil
        continuation?.resume(with: result)
    }

    private func detached(closeCode: UInt16?) {
        connection = nil
        let error = ClientError.disconnected(closeCode: closeCode)
        finishLogin(.failure(error))
        for continuation in pendingJoins.values { continuation.resume(throwing: error) }
        pendingJoins.removeAll()
        for continuation in pendingAcks.values { continuation.resume(throwing: error) }
        pendingAcks.removeAll()
        for continuation in pendingModerations.values { continuation.resume(throwing: error) }
        pendingModerations.removeAll()
        pendingInvite?.resume(throwing: error)
        pendingInvite = nil
        pendingCertification?.resume(throwing: error)
        pendingCertification = nil
        pendingReports?.resume(throwing: error)
        pendingReports = nil
        pendingAudit?.resume(throwing: error)
        pendingAudit = nil
        for room in roomStates.keys {
            roomStates[room]?.leaving?.resume(throwing: error)
            roomStates[room]?.leaving = nil
        }
        eventSink.yield(.disconnected(closeCode: closeCode))
    }

    func send(_ frame: Frame) {
        connection?.send(text: FrameCodec.encode(frame))
    }

    func handle(_ frame: Frame) {
        switch frame {
        case .challenge(let challenge):
            if let expectedServer, challenge.server != expectedServer {
                finishLogin(.failure(ClientError.wrongServer(expected: expectedServer)))
                connection?.close(.normal)
                return
            }
            send(.auth(challenge.respond(identity: identity, displayName: displayName)))
        case .welcome:
            send(.syncDirect(DirectSyncRequest(after: directCursor)))
        case .joined(let joined):
            joinReplies[joined.room] = joined
            joinedRoom(joined)
        case .logEntries(let frame):
            // A long log comes in pages: ask for the next before acting on a partial one.
            roomStates[frame.room]?.readingLog = frame.more == true
            if frame.more == true, let last = frame.entries.last {
                send(.getLog(LogRequest(room: frame.room, logLength: last.seq + 1)))
            }
            receive(frame.entries, in: frame.room)
        case .logEntry(let frame):
            receive([frame.entry], in: frame.entry.room)
        case .keyBundle(let frame):
            receive(frame.bundle)
        case .message(let frame):
            receive(frame)
        case .direct(let frame):
            receive(frame)
        case .ack(let ack):
            pendingAcks.removeValue(forKey: ack.id)?.resume(returning: ack.cursor)
        case .synced(let synced):
            synchronised(synced)
        case .memberJoined(let event):
            memberOnline(event.member, in: event.room)
            eventSink.yield(.memberJoined(room: event.room, member: event.member))
        case .memberLeft(let event):
            // The key holder someone waits for may just have gone.
            roomStates[event.room]?.online.remove(event.member)
            reconcile(event.room)
            eventSink.yield(.memberLeft(room: event.room, member: event.member))
        case .epochChanged(let change):
            // The server's word that an epoch is due (a removal, a schedule): the next member to
            // act starts it in the log, sealed only to the members the log gives.
            roomStates[change.room]?.serverEpoch = change.epoch
            roomStates[change.room]?.serverHasHolders = false
            roomStates[change.room]?.rotationRequested = true
            reconcile(change.room)
        case .error(let error):
            refused(error)
        case .invite(let frame):
            let continuation = pendingInvite
            pendingInvite = nil
            continuation?.resume(returning: frame.certificate)
        case .certified(let frame):
            ownInfo = MemberInfo(member: member, displayName: displayName, staff: frame.certificate)
            let continuation = pendingCertification
            pendingCertification = nil
            continuation?.resume(returning: frame.certificate)
        case .staffRoster(let frame):
            // A forged or older roster is ignored: the newest the organisation signed stands.
            _ = try? staffTrust?.adopt(frame.roster)
        case .moderated(let frame):
            pendingModerations.removeValue(forKey: frame.action.id)?.resume()
            // Acted on only when it verifies: signed by its moderator, who is staff now by a chain
            // to the pinned organisation key. A forged deletion or suspension, or one by staff who
            // were revoked or expired, is not reported as one.
            guard let by = frame.by, by.member == frame.action.moderator, (try? frame.action.verify()) != nil, verifiedRole(by) != nil
            else { return }
            relay(frame)
            eventSink.yield(.moderated(frame.action))
        case .turn(let credentials):
            if !pendingTurn.isEmpty { pendingTurn.removeFirst().resume(returning: credentials) }
        case .uploadToken(let token):
            if !pendingTokens.isEmpty { pendingTokens.removeFirst().resume(returning: token) }
        case .reports(let list):
            // A report just filed, pushed to staff, is not the list asked for.
            guard list.live != true else { return }
            let continuation = pendingReports
            pendingReports = nil
            continuation?.resume(returning: list)
        case .audit(let trail):
            let continuation = pendingAudit
            pendingAudit = nil
            continuation?.resume(returning: trail)
        case .rooms(let list):
            if let created = pendingCreations.first(where: { entry in list.rooms.contains { $0.room == entry.key } }) {
                pendingCreations[created.key] = nil
                created.value.resume(returning: list.rooms)
            } else if !pendingRoomLists.isEmpty {
                pendingRoomLists.removeFirst().resume(returning: list.rooms)
            }
        case .callSignal(let frame):
            // A signal that does not open, verify or match its frame is dropped.
            if let (signal, sender) = try? frame.open(with: identity) { eventSink.yield(.callSignal(signal, from: sender)) }
        case .callEnded(let ended):
            eventSink.yield(.callEnded(ended))
        case .callAvailability(let availability):
            eventSink.yield(.callAvailability(availability))
        case .availability(let availability):
            eventSink.yield(.availability(availability))
        case .counsellorQueue(let queue):
            eventSink.yield(.counsellorQueue(queue.entries))
        case .queueTaken(let taken):
            // The server's word that a counsellor took this member counts only if the proof it
            // relays verifies here as a counsellor's.
            eventSink.yield(.queueTaken(taken, counsellorVerified: verifiedRole(taken.counsellor) == .counsellor))
        case .concern(let concern):
            eventSink.yield(.concern(concern))
        case .askCounsellor, .leaveQueue, .takeFromQueue,
             .callPreferences, .directPreferences, .auth, .join, .leave, .send, .listRooms, .syncDirect, .getInvite, .redeemInvite, .moderate, .report, .listReports, .createRoom,
             .requestUploadToken, .listAudit, .requestTurn, .appendLog, .getLog:
            break
        }
    }

    private func synchronised(_ synced: Synced) {
        if let room = synced.room {
            roomCursors[room] = max(roomCursors[room] ?? 0, synced.cursor)
            roomStates[room]?.caughtUp = true
            reconcile(room)
            if let joined = joinReplies.removeValue(forKey: room) {
                pendingJoins.removeValue(forKey: room)?.resume(returning: joined)
            }
        } else {
            directCursor = max(directCursor, synced.cursor)
            let rejoin = joinedRooms.filter { pendingJoins[$0] == nil }
            for room in rejoin {
                send(.join(joinRequest(room, replayHistory: true)))
            }
            finishLogin(.success(()))
        }
        eventSink.yield(.synced(room: synced.room, cursor: synced.cursor))
    }

    private func refused(_ error: ErrorFrame) {
        if let id = error.id, let continuation = pendingAcks.removeValue(forKey: id) {
            continuation.resume(throwing: ClientError.refused(code: error.code, message: error.message))
            return
        }
        if let id = error.id, let continuation = pendingModerations.removeValue(forKey: id) {
            continuation.resume(throwing: ClientError.refused(code: error.code, message: error.message))
            return
        }
        if let room = error.room, let continuation = pendingCreations.removeValue(forKey: room) {
            continuation.resume(throwing: ClientError.refused(code: error.code, message: error.message))
            return
        }
        if let room = error.room, let continuation = pendingJoins.removeValue(forKey: room) {
            joinedRooms.remove(room)
            continuation.resume(throwing: ClientError.refused(code: error.code, message: error.message))
            return
        }
        if pendingLogin != nil {
            finishLogin(.failure(ClientError.refused(code: error.code, message: error.message)))
            return
        }
        if error.code == "too_many_tokens", !pendingTokens.isEmpty {
            pendingTokens.removeFirst().resume(throwing: ClientError.refused(code: error.code, message: error.message))
            return
        }
        if error.id == nil, error.room == nil, !pendingTurn.isEmpty, ["turn_unavailable", "no_call", "suspended"].contains(error.code) {
            pendingTurn.removeFirst().resume(throwing: ClientError.refused(code: error.code, message: error.message))
            return
        }
        if error.room != nil, let continuation = pendingAudit, ["not_a_moderator", "store_failed"].contains(error.code) {
            pendingAudit = nil
            continuation.resume(throwing: ClientError.refused(code: error.code, message: error.message))
            return
        }
        if error.id == nil, error.room == nil, pendingInvite != nil || pendingCertification != nil || pendingReports != nil {
            let failure = ClientError.refused(code: error.code, message: error.message)
            pendingInvite?.resume(throwing: failure)
            pendingCertification?.resume(throwing: failure)
            pendingReports?.resume(throwing: failure)
            pendingInvite = nil
            pendingCertification = nil
            pendingReports = nil
            return
        }
        if let room = error.room, error.code.hasPrefix("log_") || ["not_a_member", "not_staff", "sender_mismatch", "store_failed"].contains(error.code) {
            appendRefused(room, code: error.code)
        }
        eventSink.yield(.serverError(error))
    }

    private func receive(_ frame: EnvelopeFrame) {
        let room = frame.envelope.room
        guard let cursor = frame.cursor else { return }
        // Exactly once: a cursor at or below the last one seen was already delivered.
        if let last = roomCursors[room], cursor <= last { return }
        roomCursors[room] = cursor
        open(frame)
    }

    /// Opens a room message through the room's keyring; one whose key has not arrived waits.
    func open(_ frame: EnvelopeFrame) {
        let envelope = frame.envelope
        guard let cursor = frame.cursor, var state = roomStates[envelope.room] else { return }
        defer { roomStates[envelope.room] = state }
        switch state.keyring.open(envelope) {
        case .needsKey:
            state.waiting.append(frame)
        case .opened(let message, let warnings):
            eventSink.yield(.roomMessage(room: envelope.room, message: message, cursor: cursor))
            for warning in warnings { eventSink.yield(.roomWarning(room: envelope.room, warning: warning)) }
        case .refused(let warning, let error):
            if let warning { eventSink.yield(.roomWarning(room: envelope.room, warning: warning)) }
            if let error { eventSink.yield(.undecryptable(room: envelope.room, id: envelope.id, error: error)) }
        }
    }

    private func receive(_ frame: DirectFrame) {
        guard let cursor = frame.cursor, cursor > directCursor else { return }
        directCursor = cursor
        guard let opened = try? frame.message.open(with: identity) else { return }
        guard let warnings = directCounters.receive(opened) else {
            eventSink.yield(.directWarning(from: opened.sender, warning: .replayed(sender: opened.sender, id: opened.id)))
            return
        }
        eventSink.yield(.directMessage(message: opened, cursor: cursor))
        for warning in warnings { eventSink.yield(.directWarning(from: opened.sender, warning: warning)) }
    }
}
