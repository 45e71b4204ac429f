import HavenNet
import HavenProtocol
import HavenStore

extension HavenServer {
    func join(_ session: Session, member: MemberInfo, request: JoinRequest) {
        guard let room = rooms[request.room] else {
            refuse(session, code: "unknown_room", message: "there is no room \(request.room)", room: request.room)
            return
        }
        let needsAdmission = room.kind != "support" && member.staff == nil
        guard !sanctions.isRemoved(member.member, from: room.id) else {
            refuse(session, code: "removed_from_room", message: "a moderator removed you from this room", room: room.id)
            return
        }
        guard session.rooms[room.id] == nil else {
            refuse(session, code: "already_joined", message: "already in this room", room: room.id)
            return
        }
        let replayNumber = beginCatchingUp(session, stream: .room(room.id))
        session.joinedAt[room.id] = loop.nowMilliseconds
        let arrived = room.enter(session, as: member.member)
        if room.sessions.count == 1 { firstConnectionHere(in: room) }
        let roomID = room.id.value
        // Whose bundles of the current epoch tell who holds its key: its author's, the only ones a
        // client takes at their word (RoomKeyring.receive).
        let epochAuthor = room.log.currentEpoch.flatMap { $0.epoch == room.epoch ? $0.author.bytes : nil }
        let memberBytes = member.member.bytes
        let epoch = Int64(room.epoch)
        let logFrom = request.logLength.map { Int64($0) }
        withStore({ database -> (bundles: [[UInt8]], latest: Int64, tombstones: [(action: [UInt8], by: MemberProof)], log: [[UInt8]], more: Bool)? in
            // A private room admits staff, and members a staff member admitted.
            if needsAdmission, try !database.isRoomMember(room: roomID, member: memberBytes) { return nil }
            try database.addRoomMember(room: roomID, member: memberBytes)
            // The member's own bundles (older epochs too, to read history), then the current
            // epoch's from its author, so each client can list who holds the key. Others' bundles
            // to others would tell a client nothing, and members sealing to each other could
            // make them more than a newcomer's queue holds.
            let mine = try database.keyBundles(room: roomID, recipient: memberBytes)
            let current = try epochAuthor.map { try database.keyBundles(room: roomID, epoch: epoch, sealer: $0) }?.filter { !mine.contains($0) } ?? []
            // Deletions, so a client holding a copy from before hides it too.
            // With each its moderator's proof (read once per moderator), which clients check
            // before hiding anything.
            var proofs: [MemberID: MemberProof] = [:]
            let tombstones = try database.moderationLog(room: roomID, kind: ModerationKind.deleteMessage.rawValue).suffix(500).compactMap {
                entry -> (action: [UInt8], by: MemberProof)? in
                guard let moderator = try? FrameCodec.decodeValue(ModerationAction.self, from: entry.action).moderator else { return nil }
                if proofs[moderator] == nil { proofs[moderator] = try MemberProof(member: moderator.bytes, in: database) }
                return (action: entry.action, by: proofs[moderator]!)
            }
            // The log from where the client stands, or else from its latest checkpoint: one page
            // of it; the client asks for the rest (`getLog`) as it reads.
            let log = try database.roomLogPage(
                room: roomID, from: try logFrom ?? database.roomLogCheckpoint(room: roomID) ?? 0, maxBytes: HavenServer.logPageBytes)
            return (mine + current, try database.latestRoomCursor(room: roomID), tombstones, log.entries, log.more)
        }) { [unowned self] result in
            // Only for this join: after a leave and another join, that join answers for itself.
            guard session.rooms[room.id]?.replay == replayNumber, sessions[session.connection.id] === session else { return }
            guard case .success(let outcome) = result, let stored = outcome else {
                removeFromRoom(session, room: room.id)
                unsubscribe(session, from: room.id)
                if case .success(nil) = result {
                    refuse(session, code: "not_invited", message: "this room is open by invitation only", room: room.id)
                } else {
                    refuse(session, code: "store_failed", message: "could not join; try again", room: room.id)
                }
                return
            }
            send(.joined(Joined(
                room: room.id, epoch: room.epoch, members: room.onlineMembers, keyHolders: room.keyHolders.members,
                retentionSeconds: room.retentionSeconds, mode: room.mode)), to: session)
            sendLogEntries(stored.log, more: stored.more, room: room.id, to: session)
            for bytes in stored.bundles {
                if let bundle = try? FrameCodec.decodeValue(EpochKeyBundle.self, from: bytes) {
                    send(.keyBundle(KeyBundleFrame(bundle: bundle)), to: session)
                }
            }
            for tombstone in stored.tombstones {
                if let action = try? FrameCodec.decodeValue(ModerationAction.self, from: tombstone.action) {
                    send(.moderated(ModerationFrame(action: action, by: tombstone.by.info(member: action.moderator, displayName: "moderator"))), to: session)
                }
            }
            // Other nodes hear of the member once the join is admitted (a private room's is checked
            // above), as this node's members do.
            if arrived { bus?.publish(.arrived, key: Array(room.id.value.utf8), frame: FrameCodec.encodeValue(member)) }
            if arrived, !room.elsewhere.contains(member.member) {
                let event = encode(.memberJoined(MemberJoined(room: room.id, member: member, holdsKey: room.keyHolders.contains(member.member))))
                broadcast(event, to: room.sessions.values.lazy.filter { $0 !== session })
            }
            replay(session, stream: .room(room.id), after: request.after.map(Int64.init) ?? stored.latest)
        }
    }

    func leave(_ session: Session, member: MemberInfo, room roomID: RoomID) {
        guard session.rooms[roomID] != nil else {
            refuse(session, code: "not_a_member", message: "not in this room", room: roomID)
            return
        }
        removeFromRoom(session, room: roomID)
        unsubscribe(session, from: roomID)
        let roomText = roomID.value
        let memberBytes = member.member.bytes
        withStore({ try $0.removeRoomMember(room: roomText, member: memberBytes) }) { _ in }
    }

    /// Takes `session` out of the room's live state, telling the others if the member has no
    /// other connection there.
    func removeFromRoom(_ session: Session, room roomID: RoomID) {
        guard let room = rooms[roomID] else { return }
        let member = room.exit(connection: session.connection.id)
        if room.sessions.isEmpty { lastConnectionHereLeft(room) }
        guard let member else { return }
        bus?.publish(.departed, key: Array(roomID.value.utf8), frame: member.bytes)
        guard !room.elsewhere.contains(member) else { return }
        broadcast(encode(.memberLeft(MemberLeft(room: roomID, member: member))), to: room.sessions.values)
    }

    func sendRoomMessage(_ envelope: RoomEnvelope, from session: Session, member: MemberInfo, prepared: PreparedMessage) {
        guard envelope.sender == member.member else {
            refuse(session, code: "sender_mismatch", message: "envelope sender is not the logged-in member", id: envelope.id)
            return
        }
        guard let room = rooms[envelope.room], session.rooms[envelope.room] != nil else {
            refuse(session, code: "not_a_member", message: "join the room before posting to it", id: envelope.id)
            return
        }
        guard envelope.epoch == room.epoch else {
            refuse(session, code: "stale_epoch", message: "the room is at epoch \(room.epoch)", id: envelope.id)
            return
        }
        // No member can have verified more of the log than the server holds: a longer claim would
        // only make everyone else believe entries are being held back from them.
        if let claimed = envelope.logLength, claimed > room.log.length {
            refuse(session, code: "invalid_field", message: "logLength is longer than the room's log", id: envelope.id)
            return
        }
        guard allowMessage(session, id: envelope.id, bytes: envelope.ciphertext.bytes.count) else { return }
        if case .failure(let error) = prepared.check {
            refuse(session, code: error.code, message: error.description, id: envelope.id)
            return
        }
        let stored = prepared.stored
        let roomText = room.id.value
        // With other nodes, where the message sits in the room goes with it (see deliverDirect).
        let clustered = bus != nil
        let message = MessageAppend.room(
            room: roomText, sender: member.member.bytes, messageID: envelope.id.bytes, epoch: Int64(envelope.epoch), envelope: stored)
        storeMessage(from: session, message) { [unowned self] result in
            let appended = result.flatMap { appended in
                appended.map(Result.success) ?? .failure(StoreError.noRow(operation: "store a room message"))
            }
            acknowledge(appended, id: envelope.id, session: session, counting: \.roomMessagesStored) { cursor, previous in
                let frame = FrameCodec.deliveryFrame(.roomMessage, stored: stored, cursor: UInt64(cursor))
                bus?.publish(.roomMessage, key: Array(roomText.utf8), cursor: cursor, previous: previous, frame: frame)
                deliverInOrder(frame, on: .room(room.id), at: cursor, after: clustered ? previous : nil, to: room.sessions.values, except: session)
            }
        }
    }

    /// Acks a committed append to its sender (if still connected), counts a newly stored message
    /// in `counting` and runs `fanOut` with its cursor and the stream's cursor before it; a
    /// duplicate is acked again but not delivered twice.
    ///
    /// With `showingCursor` false (a private message) the `ack` carries cursor 0: the cursor is
    /// the recipient's, and would tell the sender how many messages others sent them.
    func acknowledge(
        _ result: Result<AppendedMessage, StoreError>, id: MessageID, session: Session, showingCursor: Bool = true,
        counting stored: WritableKeyPath<ServerCounters, Int>, fanOut: (_ cursor: Int64, _ previous: Int64) -> Void
    ) {
        let connected = sessions[session.connection.id] === session
        switch result {
        case .failure:
            if connected { send(.error(ErrorFrame(code: "store_failed", message: "message not stored; send it again", id: id)), to: session) }
        case .success(let appended):
            if connected { send(.ack(Ack(id: id, cursor: showingCursor ? UInt64(appended.outcome.cursor) : 0)), to: session) }
            switch appended.outcome {
            case .stored(let cursor):
                counters[keyPath: stored] += 1
                fanOut(cursor, appended.previous)
            case .duplicate:
                counters.duplicates += 1
            }
        }
    }
}

extension HavenServer {
    /// Creates a room for a staff member, who is admitted to it at once.
    func createRoom(_ request: CreateRoom, session: Session, member: MemberInfo) {
        guard member.staff != nil else {
            refuse(session, code: "not_a_moderator", message: "only staff may create rooms", room: request.room)
            return
        }
        guard rooms[request.room] == nil else {
            refuse(session, code: "room_exists", message: "a room with this id exists", room: request.room)
            return
        }
        let now = configuration.now()
        let creator = member.member.bytes
        withStore({ database -> [LoadedRoom] in
            guard try database.createRoom(id: request.room.value, name: request.name, kind: request.kind, now: now) else {
                throw StoreError.conflict("a room with this id exists")
            }
            try database.addRoomMember(room: request.room.value, member: creator)
            return try LoadedRoom.loadAll(from: database)
        }) { [unowned self] result in
            guard sessions[session.connection.id] === session else { return }
            guard case .success(let loaded) = result, let room = loaded.first(where: { $0.id == request.room }) else {
                refuse(session, code: "room_exists", message: "a room with this id exists", room: request.room)
                return
            }
            if rooms[room.id] == nil { rooms[room.id] = LiveRoom(room, organisation: configuration.organisationPublicKey) }
            handle(.listRooms(NoFields()), from: session, member: member, prepared: nil)
        }
    }
}
