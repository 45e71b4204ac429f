import HavenNet
import HavenProtocol
import HavenStore

extension HavenServer {
    /// Whether `member` (as the server lets it act: see ``currentRole(_:)``) may take an action
    /// of `kind`: admitting is for staff, appointing for counsellors, the rest for staff and
    /// appointed moderators.
    static func may(_ member: MemberInfo, take kind: ModerationKind) -> Bool {
        switch kind {
        case .admit: member.staff != nil
        case .appoint: member.staff?.invite.role == .counsellor
        default: member.staff != nil || member.appointment != nil
        }
    }

    /// How far an action's signed time may be from now, here or relayed from another node (an
    /// old signed action sent again is refused).
    static let actionFreshnessSeconds: Int64 = 300

    /// Applies a moderator's signed action: only staff may act; the action must verify, be
    /// recent, and be new. It is written to the append-only log and applied in one transaction,
    /// then announced: deletions to the room, sanctions to the member concerned. A ban also
    /// disconnects the banned identity.
    func moderate(_ action: ModerationAction, session: Session, member: MemberInfo) {
        guard Self.may(member, take: action.kind) else {
            let message = action.kind == .appoint ? "only counsellors may appoint moderators" : "only staff may moderate"
            refuse(session, code: "not_a_moderator", message: message, id: action.id)
            return
        }
        guard action.moderator == member.member else {
            refuse(session, code: "sender_mismatch", message: "the action is signed by another member", id: action.id)
            return
        }
        do {
            try action.verify()
        } catch {
            refuse(session, code: error.code, message: error.description, id: action.id)
            return
        }
        // A moderator cannot undo a sanction against themselves: another moderator must.
        if action.kind == .lift, let lifts = action.lifts?.bytes, sanctions.isAgainst(member.member, actionID: lifts) {
            refuse(session, code: "cannot_lift_own", message: "a moderator cannot lift a sanction against themselves", id: action.id)
            return
        }
        let now = configuration.now()
        guard abs(Int64(action.issuedAt) - now) <= Self.actionFreshnessSeconds else {
            refuse(session, code: "stale_action", message: "the action's time is more than 5 minutes off", id: action.id)
            return
        }
        if action.kind == .deleteMessage, let room = action.room, rooms[room] == nil {
            refuse(session, code: "unknown_room", message: "there is no room \(room)", id: action.id, room: room)
            return
        }
        if action.kind == .remove || action.kind == .admit, let room = action.room, rooms[room] == nil {
            refuse(session, code: "unknown_room", message: "there is no room \(room)", id: action.id, room: room)
            return
        }
        let stored = FrameCodec.encodeValue(action)
        withStore({ database -> (lifted: SanctionRecord?, rotated: [(String, Int64)]) in
            try database.appendModeration(
                id: action.id.bytes, kind: action.kind.rawValue, room: action.room?.value, moderator: action.moderator.bytes,
                target: action.target?.bytes, action: stored, now: now)
            switch action.kind {
            case .deleteMessage:
                if let room = action.room, let target = action.target, let message = action.message {
                    try database.deleteRoomMessage(room: room.value, sender: target.bytes, messageID: message.bytes)
                }
                return (nil, [])
            case .suspend:
                try database.addSanction(
                    actionID: action.id.bytes, kind: action.kind.rawValue, member: action.target!.bytes, until: action.until.map { Int64($0) }, now: now)
                return (nil, [])
            case .ban, .remove:
                let target = action.target!.bytes
                try database.addSanction(actionID: action.id.bytes, kind: action.kind.rawValue, member: target, until: nil, room: action.room?.value, now: now)
                // Every room the member leaves moves to a new epoch, sealed only to those who remain.
                let rooms = action.kind == .remove ? [action.room!.value] : try database.roomsOf(member: target)
                return (nil, try rooms.map { room in
                    try database.removeRoomMember(room: room, member: target)
                    return (room, try database.advanceEpoch(room: room, now: now))
                })
            case .lift:
                return (try database.liftSanction(actionID: action.lifts!.bytes), [])
            case .admit:
                try database.addRoomMember(room: action.room!.value, member: action.target!.bytes)
                return (nil, [])
            case .appoint:
                try database.appoint(member: action.target!.bytes, appointment: stored, appointedBy: action.moderator.bytes)
                return (nil, [])
            }
        }) { [unowned self] result in
            let connected = sessions[session.connection.id] === session
            switch result {
            case .failure(let error):
                if connected {
                    let code = if case .notFound = error { "nothing_to_lift" } else if case .conflict = error { "duplicate_action" } else { "store_failed" }
                    refuse(session, code: code, message: "\(error)", id: action.id)
                }
            case .success(let outcome):
                counters.moderationActions += 1
                if action.kind == .deleteMessage { wipeDeleted() }
                let relayed = RelayedModeration(action: stored, moderator: member, lifted: outcome.lifted, rotated: outcome.rotated)
                bus?.publish(.moderated, key: [], frame: FrameCodec.encodeValue(relayed))
                carryOut(action, relayed, actor: connected ? session : nil)
            }
        }
    }

    /// Carries out a committed action here: in memory, to the members concerned, and in the rooms
    /// it moved to a new epoch (for an action taken here, `actor` is its author's connection).
    func carryOut(_ action: ModerationAction, _ relayed: RelayedModeration, actor: Session?) {
        apply(action, by: relayed.moderator, lifted: relayed.lifted?.record, rooms: relayed.rotated.compactMap { try? RoomID($0.room) }, actor: actor)
        for rotated in relayed.rotated {
            guard let id = try? RoomID(rotated.room), let epoch = UInt64(exactly: rotated.epoch) else { continue }
            rotate(id, to: epoch, without: action.target)
        }
    }

    /// Moves a live room to `epoch`: `removed` is taken out of it, and the remaining members are
    /// told to create and share the new key.
    func rotate(_ roomID: RoomID, to epoch: UInt64, without removed: MemberID?) {
        guard let room = rooms[roomID] else { return }
        room.epoch = epoch
        room.keyHolders.clear()
        if let removed {
            for session in room.sessions.values where session.member?.member == removed {
                removeFromRoom(session, room: roomID)
                unsubscribe(session, from: roomID)
            }
        }
        broadcast(encode(.epochChanged(EpochChanged(room: roomID, epoch: epoch))), to: room.sessions.values)
    }

    /// Applies an action in memory and announces it: to its author and the member concerned, and
    /// to the rooms whose log it belongs in (a member there writes it into the log, with `by`,
    /// the moderator's proof, if the moderator does not), or whose messages it deletes.
    private func apply(_ action: ModerationAction, by moderator: MemberInfo, lifted: SanctionRecord?, rooms affected: [RoomID], actor: Session?) {
        let frame = encode(.moderated(ModerationFrame(action: action, by: moderator)))
        var recipients: [Int: Session] = [:]
        if let actor { recipients[actor.connection.id] = actor }
        var logRooms = affected
        if let room = action.room, action.kind != .deleteMessage { logRooms.append(room) }
        if action.kind == .lift, let member = lifted.flatMap({ try? MemberID(bytes: $0.member) }) {
            logRooms += rooms.values.filter { $0.log.excluded.contains(member) }.map(\.id)
        }
        for room in logRooms.compactMap({ rooms[$0] }) { recipients.merge(room.sessions) { $1 } }
        let consequences = sanctions.apply(action, lifted: lifted)
        for case .endCalls(let member) in consequences { endCalls(of: member, reason: "sanctioned") }
        switch action.kind {
        case .deleteMessage:
            if let room = action.room.flatMap({ rooms[$0] }) { recipients.merge(room.sessions) { $1 } }
        case .suspend, .ban, .remove, .lift, .admit:
            break
        case .appoint:
            // The appointed member's open sessions may moderate at once, and carry the proof (the
            // appointer is the moderator who signed it, here or on another node).
            let appointer = moderator.staff
            for session in (action.target.flatMap { sessionsByMember[$0] } ?? [:]).values {
                guard let info = session.member else { continue }
                session.state = .authenticated(MemberInfo(
                    member: info.member, displayName: info.displayName, staff: info.staff, appointment: action, appointedBy: appointer))
            }
        }
        if let target = action.target { recipients.merge(sessionsByMember[target] ?? [:]) { $1 } }
        broadcast(frame, to: recipients.values)
        for case .disconnect(let member) in consequences {
            for session in (sessionsByMember[member] ?? [:]).values { session.connection.close(.policyViolation, reason: "banned") }
        }
    }
}

extension HavenServer {
    /// A deleted message's ciphertext leaves the disk too: the WAL, which still holds it, is
    /// checkpointed and truncated at once. When a reader keeps that from completing it is tried
    /// again on the next maintenance tick (a few seconds later), and counted in /metrics.
    func wipeDeleted() {
        // On PostgreSQL there is no WAL of Haven's to truncate (docs/operations.md says what it keeps).
        guard configuration.storeLocation.engine == .sqlite else { return }
        let finished = LoopBound({ [unowned self] (result: Result<Void, StoreError>) in
            guard case .failure(let error) = result else { return }
            counters.wipesIncomplete += 1
            wipePending = true
            ServerLog.warning("a deleted message is not yet wiped from the WAL (tried again shortly): \(error)")
        }, loop: loop)
        store.performOutsideTransaction({ try $0.reclaimSpace() }) { result in finished.value(result) }
    }
}
