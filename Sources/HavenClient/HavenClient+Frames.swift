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
        eventSink.yield(.disconnected(closeCode: closeCode))
    }

    private func send(_ frame: Frame) {
        connection?.send(text: FrameCodec.encode(frame))
    }

    func handle(_ frame: Frame) {
        switch frame {
        case .challenge(let challenge):
            send(.auth(challenge.respond(identity: identity, displayName: displayName)))
        case .welcome:
            send(.syncDirect(DirectSyncRequest(after: directCursor)))
        case .joined(let joined):
            joinReplies[joined.room] = joined
            roomEpochs[joined.room] = joined.epoch
            roomMembers[joined.room] = Set(joined.members.map(\.member))
            if joined.keyHolders.isEmpty && epochKeys[joined.room]?[joined.epoch] == nil { createEpochKey(joined.room, epoch: joined.epoch) }
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
            roomMembers[event.room, default: []].insert(event.member.member)
            if !event.holdsKey { shareKey(event.room, with: event.member.member) }
            eventSink.yield(.memberJoined(room: event.room, member: event.member))
        case .memberLeft(let event):
            roomMembers[event.room]?.remove(event.member)
            eventSink.yield(.memberLeft(room: event.room, member: event.member))
        case .epochChanged(let change):
            // Every remaining member's client offers to create the new key; the server keeps the
            // first, and its creator seals it to everyone else here.
            roomEpochs[change.room] = change.epoch
            createEpochKey(change.room, epoch: change.epoch)
            for other in roomMembers[change.room] ?? [] where other != member { shareKey(change.room, with: other) }
        case .error(let error):
            refused(error)
        case .invite(let frame):
            let continuation = pendingInvite
            pendingInvite = nil
            continuation?.resume(returning: frame.certificate)
        case .certified(let frame):
            let continuation = pendingCertification
            pendingCertification = nil
            continuation?.resume(returning: frame.certificate)
        case .moderated(let frame):
            pendingModerations.removeValue(forKey: frame.action.id)?.resume()
            eventSink.yield(.moderated(frame.action))
        case .turn(let credentials):
            if !pendingTurn.isEmpty { pendingTurn.removeFirst().resume(returning: credentials) }
        case .uploadToken(let token):
            if !pendingTokens.isEmpty { pendingTokens.removeFirst().resume(returning: token) }
        case .reports(let list):
            let continuation = pendingReports
            pendingReports = nil
            continuation?.resume(returning: list.reports)
        case .rooms(let list):
            if let created = pendingCreations.first(where: { entry in list.rooms.contains { $0.room == entry.key } }) {
                pendingCreations[created.key] = nil
                created.value.resume(returning: list.rooms)
            } else if !pendingRoomLists.isEmpty {
                pendingRoomLists.removeFirst().resume(returning: list.rooms)
            }
        case .callSignal(let frame):
            // A signal that does not open, verify or match its frame is dropped.
            if let signal = try? frame.open(with: identity) { eventSink.yield(.callSignal(signal, from: frame.message.sender)) }
        case .callEnded(let ended):
            eventSink.yield(.callEnded(ended))
        case .callAvailability(let availability):
            eventSink.yield(.callAvailability(availability))
        case .callPreferences, .auth, .join, .leave, .send, .listRooms, .syncDirect, .getInvite, .redeemInvite, .moderate, .report, .listReports, .createRoom,
             .requestUploadToken, .listAudit, .audit, .requestTurn:
            break
        }
    }

    private func synchronised(_ synced: Synced) {
        if let room = synced.room {
            roomCursors[room] = max(roomCursors[room] ?? 0, synced.cursor)
            if let joined = joinReplies.removeValue(forKey: room) {
                pendingJoins.removeValue(forKey: room)?.resume(returning: joined)
            }
        } else {
            directCursor = max(directCursor, synced.cursor)
            let rejoin = joinedRooms.filter { pendingJoins[$0] == nil }
            for room in rejoin {
                send(.join(JoinRequest(room: room, after: roomCursors[room] ?? 0)))
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
        if error.id == nil, error.room == nil, !pendingTurn.isEmpty, ["turn_unavailable", "suspended"].contains(error.code) {
            pendingTurn.removeFirst().resume(throwing: ClientError.refused(code: error.code, message: error.message))
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
        if error.code == "epoch_key_exists", let room = error.room, let epoch = createdKeys.removeValue(forKey: room) {
            // Another member created the key first: ours is discarded, and theirs will be sealed to us.
            epochKeys[room]?[epoch] = nil
        }
        eventSink.yield(.serverError(error))
    }

    private func createEpochKey(_ room: RoomID, epoch: UInt64) {
        guard let key = try? EpochKey.generate(room: room, epoch: epoch),
              let bundle = try? EpochKeyBundle.seal(key, to: member, by: identity)
        else { return }
        // Tentative until the server relays our own bundle back as the epoch's first.
        createdKeys[room] = epoch
        store(key)
        send(.keyBundle(KeyBundleFrame(bundle: bundle)))
    }

    private func shareKey(_ room: RoomID, with recipient: MemberID) {
        guard recipient != member, let epoch = roomEpochs[room], let key = epochKeys[room]?[epoch],
              let bundle = try? EpochKeyBundle.seal(key, to: recipient, by: identity)
        else { return }
        send(.keyBundle(KeyBundleFrame(bundle: bundle)))
    }

    private func receive(_ bundle: EpochKeyBundle) {
        // Transparency: a bundle counts only if its sealer signed it and already held the key
        // (the creator's bundle to itself starts the chain).
        guard (try? bundle.verifySignature()) != nil else { return }
        var known = holders[bundle.room]?[bundle.epoch] ?? []
        guard bundle.sealer == bundle.recipient ? known.isEmpty : known.contains(bundle.sealer) else { return }
        if bundle.sealer == bundle.recipient, bundle.sealer != member, createdKeys[bundle.room] == bundle.epoch {
            // Someone else's key won the race for this epoch: drop ours.
            createdKeys[bundle.room] = nil
            epochKeys[bundle.room]?[bundle.epoch] = nil
        }
        if bundle.sealer == member, bundle.recipient == member { createdKeys[bundle.room] = nil }
        if !known.contains(bundle.recipient) { known.append(bundle.recipient) }
        holders[bundle.room, default: [:]][bundle.epoch] = known
        guard bundle.recipient == member, let key = try? bundle.open(with: identity) else { return }
        store(key)
        eventSink.yield(.keyReceived(room: bundle.room, epoch: bundle.epoch, sealer: bundle.sealer))
    }

    private func store(_ key: EpochKey) {
        epochKeys[key.room, default: [:]][key.epoch] = key
        for continuation in keyWaiters.removeValue(forKey: key.room) ?? [] { continuation.resume() }
        let waiting = waitingForKey.removeValue(forKey: key.room) ?? []
        for frame in waiting { open(frame) }
    }

    private func receive(_ frame: EnvelopeFrame) {
        let room = frame.envelope.room
        guard let cursor = frame.cursor else { return }
        // Exactly once: a cursor at or below the last one seen was already delivered.
        if let last = roomCursors[room], cursor <= last { return }
        roomCursors[room] = cursor
        guard epochKeys[room]?[frame.envelope.epoch] != nil else {
            waitingForKey[room, default: []].append(frame)
            return
        }
        open(frame)
    }

    private func open(_ frame: EnvelopeFrame) {
        let envelope = frame.envelope
        guard let cursor = frame.cursor, let key = epochKeys[envelope.room]?[envelope.epoch] else { return }
        do {
            eventSink.yield(.roomMessage(room: envelope.room, message: try envelope.open(with: key), cursor: cursor))
        } catch {
            eventSink.yield(.undecryptable(room: envelope.room, id: envelope.id, error: error))
        }
    }

    private func receive(_ frame: DirectFrame) {
        guard let cursor = frame.cursor, cursor > directCursor else { return }
        directCursor = cursor
        guard let opened = try? frame.message.open(with: identity) else { return }
        eventSink.yield(.directMessage(message: opened, cursor: cursor))
    }
}
