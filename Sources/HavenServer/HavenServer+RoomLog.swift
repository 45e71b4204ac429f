import HavenNet
import HavenProtocol
import HavenStore

extension HavenServer {
    /// Stores a room log entry after checking it with the same rules the clients follow (so the
    /// server can refuse an entry, but never writes one), then relays it to everyone in the room,
    /// its author included as the sign that it is stored. Entries are ordered on the loop: the
    /// in-memory log takes the entry before its commit, so the next entry is checked against it.
    func appendLog(_ entry: RoomLogEntry, from session: Session, member: MemberInfo) {
        guard entry.author == member.member else {
            refuse(session, code: "sender_mismatch", message: "the entry's author is not the logged-in member", room: entry.room)
            return
        }
        guard let room = rooms[entry.room], session.rooms[entry.room] != nil else {
            refuse(session, code: "not_a_member", message: "join the room before writing to its log", room: entry.room)
            return
        }
        // An entry that takes staff authority (moderation, or any entry of a private room) is taken
        // only while the proof it carries holds now: the chain verifies for ever, but the roster may
        // have revoked it, bound its invite to another key, or it may have expired. Members relay
        // their moderators' actions, so it is the proof that is checked, not the author.
        if let proof = entry.proof, let room = rooms[entry.room], entry.action != nil || room.mode == .private,
           let staffTrust, staffTrust.role(of: proof, at: UInt64(configuration.now())) == nil {
            refuse(session, code: "not_staff", message: "the staff member this change rests on is not staff any more", room: entry.room)
            return
        }
        // Someone whose place in a private room rested on staff grounds that lapsed may only leave:
        // an epoch of theirs would hand them the key again.
        if entry.kind != .leave, let room = rooms[entry.room], hasLapsedGrounds(entry.author, in: room) {
            refuse(session, code: "not_staff", message: "your place in this room rested on staff status that has ended", room: entry.room)
            return
        }
        if entry.kind != .leave, sanctions.isSuspended(member.member, now: configuration.now()) {
            refuse(session, code: "suspended", message: "you are suspended for now; you can still read", room: room.id)
            return
        }
        // Entries stay small, so the log a newcomer fetches stays small: a member set may take up
        // most of a frame; anything else (a join with its proof, say) a few KiB.
        let stored = FrameCodec.encodeValue(entry)
        let limit = entry.kind == .epoch ? Self.maxEpochEntryBytes : Self.maxEntryBytes
        guard stored.count <= limit else {
            refuse(session, code: "field_too_large", message: "the log entry is too large: \(stored.count) bytes, limit \(limit)", room: room.id)
            return
        }
        guard session.budgets?.take(.logEntry, now: loop.nowMilliseconds) ?? false else {
            counters.rateLimited += 1
            refuse(session, code: "rate_limited", message: "changing the room too fast; try again shortly", room: room.id)
            return
        }
        do {
            _ = try room.log.check(entry)
            try checkServerRules(entry, room: room, session: session)
        } catch {
            // Losing a race for a position is normal: answered, but not counted against the client.
            if error.code == "log_conflict" {
                send(.error(ErrorFrame(code: error.code, message: error.description, room: room.id)), to: session)
            } else {
                refuse(session, code: error.code, message: error.description, room: room.id)
            }
            return
        }
        // Checked above, so it appends.
        let departed = ((try? room.take(entry, now: loop.nowMilliseconds)) ?? []).map(\.bytes)
        let roomText = room.id.value
        let now = configuration.now()
        withStore({
            try $0.appendRoomLog(
                room: roomText, seq: Int64(entry.seq), kind: entry.kind.rawValue, entry: stored, epoch: entry.epoch.map { Int64($0) }, now: now)
            for member in departed { try $0.forgetCurrentKey(room: roomText, recipient: member) }
        }) { [unowned self] result in
            guard case .success = result else {
                if sessions[session.connection.id] === session {
                    send(.error(ErrorFrame(code: "store_failed", message: "the log entry was not stored; try again", room: room.id)), to: session)
                }
                reloadLog(of: room)
                return
            }
            bus?.publish(.logEntry, key: Array(room.id.value.utf8), frame: stored)
            broadcast(encode(.logEntry(LogEntryFrame(entry: entry))), to: room.sessions.values)
        }
    }

    /// What only the server knows: a log starts in the mode the operator gave the room; an
    /// epoch entry starts the epoch the room is due (the current one if nobody has its key yet,
    /// else the next), so epochs the server started for removals and schedules are taken up; and
    /// an epoch starts only when one is needed, so nobody can keep a room changing keys: the
    /// log has none yet, the server made one due, someone given the key has gone, the author has no key and no
    /// holder is online (or none answered within ``keyPatienceMilliseconds``), or the log needs
    /// a checkpoint.
    private func checkServerRules(_ entry: RoomLogEntry, room: LiveRoom, session: Session) throws(RoomLogError) {
        if entry.seq == 0, entry.mode != room.mode { throw .modeChanged }
        guard let epoch = entry.epoch else { return }
        let due = room.isEpochEstablished ? room.epoch + 1 : room.epoch
        guard epoch == due else { throw .epochNotDue(due: due, actual: epoch) }
        let waitingSince = max(session.joinedAt[room.id] ?? loop.nowMilliseconds, room.epochStartedAt)
        let waited = loop.nowMilliseconds &- waitingSince >= Self.keyPatienceMilliseconds
        let holderOnline = room.onlineMembers.contains { $0.member != entry.author && room.keyHolders.contains($0.member) }
        let hasKey = room.sealedByAuthor.contains(entry.author) || room.log.currentEpoch?.author == entry.author
        let needed = room.log.length == 0 || !room.isEpochEstablished || room.log.mustRotate || room.log.entriesSinceEpoch >= RoomLog.checkpointInterval
            || (!hasKey && (waited || !holderOnline))
        guard needed else { throw .epochNotNeeded }
    }

    /// Largest log entry other than an `epoch` entry, in bytes of JSON.
    static let maxEntryBytes = 4096
    /// Largest `epoch` entry (its member set): what fits in a frame with room to spare, about
    /// 2,900 members. Beyond that a room needs compaction of its log (not built yet).
    static let maxEpochEntryBytes = ProtocolLimits.maxFrameBytes - 4096

    /// How long a member without the room key waits for a holder before it may start an epoch
    /// (the clients wait as long).
    static let keyPatienceMilliseconds: UInt64 = 8_000

    /// Reads a room's log, epoch and key holders again from the store: after a write that
    /// failed, or when another node may have changed them.
    /// `then` gets the entries as stored, from the latest checkpoint on.
    func reloadLog(of room: LiveRoom, then: @escaping ([[UInt8]]) -> Void = { _ in }) {
        let roomID = room.id
        withStore({ database -> LoadedRoom? in try LoadedRoom.loadAll(from: database) { $0 == roomID }.first { $0.id == roomID } }) { [unowned self] result in
            guard case .success(let loaded?) = result else { return }
            room.reload(from: loaded, organisation: configuration.organisationPublicKey)
            then(loaded.log)
        }
    }

    /// How much of a room's log goes to a client at once (a join, or a `getLog`): one frame,
    /// well under the send queue's limit, so a long log never makes its reader a slow consumer,
    /// and the frame's `more` is the page's: the client reads on until a frame says there is none.
    static let logPageBytes = ProtocolLimits.maxFrameBytes / 2

    /// Answers `getLog`: the next page of the room's log, for a client reading a long one.
    func sendLog(of roomID: RoomID, from length: UInt64, to session: Session) {
        guard session.rooms[roomID] != nil else {
            refuse(session, code: "not_a_member", message: "join the room before reading its log", room: roomID)
            return
        }
        let roomText = roomID.value
        withStore({ try $0.roomLogPage(room: roomText, from: Int64(length), maxBytes: Self.logPageBytes) }) { [unowned self] result in
            guard sessions[session.connection.id] === session else { return }
            guard case .success(let page) = result else {
                send(.error(ErrorFrame(code: "store_failed", message: "the room's log could not be read; try again", room: roomID)), to: session)
                return
            }
            sendLogEntries(page.entries, more: page.more, room: roomID, to: session)
        }
    }

    /// Sends a page of stored log entries as one `logEntries` frame; `more` says whether more of
    /// the log follows. (A page split over several frames once said "no more" before its end,
    /// and a newcomer acted on a log it had not finished reading.)
    func sendLogEntries(_ stored: [[UInt8]], more: Bool, room: RoomID, to session: Session) {
        session.connection.send(frame: frames.textFrame(FrameCodec.logEntriesFrame(room: room, stored: stored, more: more)))
    }
}
