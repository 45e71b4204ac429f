import Foundation
import HavenNet
import HavenProtocol
import Sodium

/// This client's standing in one room: its keyring (the verified log and the epoch keys) and
/// what it is waiting for. Lives on the client's loop thread.
struct RoomState {
    var keyring: RoomKeyring
    /// The room's mode by the server's word, used only to start an empty log.
    var modeHint: RoomMode = .open
    /// The epoch the server says the room is at, and whether anyone holds its key there.
    var serverEpoch: UInt64 = 0
    var serverHasHolders = false
    /// The server asked for a new epoch (a removal or a schedule).
    var rotationRequested = false
    /// The join's replay is done: the log and bundles the join sent have arrived.
    var caughtUp = false
    /// More pages of a long log are on their way.
    var readingLog = false
    /// An entry of ours awaits the server's answer, for position `inFlightSeq`.
    var inFlight: InFlight?
    var inFlightSeq: UInt64 = 0
    /// Since when this member has waited for an online holder to seal it the key.
    var waitingForKeySince: Date?
    /// The server refused an entry: write nothing more until the log moves.
    var paused = false
    /// Members online in the room by the server's word.
    var online: Set<MemberID> = []
    /// Signed moderation actions (with their moderator's proof) to write into the log.
    var relays: [ModerationFrame] = []
    /// Messages waiting for their epoch's key.
    var waiting: [EnvelopeFrame] = []
    /// A `leave` the member asked for.
    var leaving: CheckedContinuation<Void, any Error>?

    enum InFlight: Equatable {
        case epoch
        case entry(RoomLogKind, action: MessageID?)
    }

    /// How long a member without the key waits for an online holder before starting a new epoch
    /// (a holder whose device is asleep never answers).
    static let keyPatience: TimeInterval = 8

    /// The epoch the next `epoch` entry starts: after the log's, and the one the server has due
    /// (believed only up to 1,000 past the log's: a server that claimed 2^53 would leave the room
    /// no epoch to move to).
    var dueEpoch: UInt64 {
        let afterLog = keyring.log.currentEpoch.map { $0.epoch + 1 } ?? 0
        let established = keyring.log.currentEpoch?.epoch == serverEpoch || serverHasHolders
        return max(afterLog, min(established ? serverEpoch + 1 : serverEpoch, afterLog + 1_000))
    }
}

extension HavenClient {
    /// The `join` for `room`: from the last cursor and log length this client has, if any.
    func joinRequest(_ room: RoomID, replayHistory: Bool) -> JoinRequest {
        if roomStates[room] == nil {
            roomStates[room] = RoomState(keyring: RoomKeyring(room: room, identity: identity, organisation: organisation))
        }
        roomStates[room]?.caughtUp = false
        roomStates[room]?.inFlight = nil
        roomStates[room]?.paused = false
        let length = roomStates[room]?.keyring.log.length ?? 0
        let after = roomCursors[room] ?? (replayHistory ? 0 : nil)
        return JoinRequest(room: room, after: after, logLength: length > 0 ? length : nil)
    }

    func joinedRoom(_ joined: Joined) {
        guard roomStates[joined.room] != nil else { return }
        roomStates[joined.room]?.modeHint = joined.mode ?? .open
        roomStates[joined.room]?.serverEpoch = joined.epoch
        roomStates[joined.room]?.serverHasHolders = !joined.keyHolders.isEmpty
        roomStates[joined.room]?.online = []
        for info in joined.members { memberOnline(info, in: joined.room) }
    }

    func memberOnline(_ info: MemberInfo, in room: RoomID) {
        roomStates[room]?.online.insert(info.member)
        staffTrust?.notice(info)
        // This member's own proof goes into the log entries they write, while the server still
        // relays it (it stops once the roster revokes it or it expires).
        if info.member == member { ownInfo = info.staff != nil || info.appointment != nil ? info : nil }
    }

    /// Whether this client may send in `room` now: it holds the current key and nobody given it
    /// has left since.
    func canSend(in room: RoomID) -> Bool {
        guard let keyring = roomStates[room]?.keyring else { return false }
        return keyring.currentKey != nil && !keyring.mustRotate && !keyring.isBehind && keyring.log.members.contains(member)
            && !hasLapsedGrounds(keyring.log.currentEpoch?.author, in: keyring.log)
    }

    /// In a private room: `member`'s place rests on staff grounds that no longer hold.
    func hasLapsedGrounds(_ member: MemberID?, in log: RoomLog) -> Bool {
        guard let member, log.mode == .private, let grounds = log.grounds[member] else { return false }
        return staffTrust?.role(of: grounds.proof, at: grounds.at ?? UInt64(Date().timeIntervalSince1970)) == nil
    }

    /// Verifies log entries through the room's keyring, reports what changed and what looked
    /// wrong, then acts on the new state.
    func receive(_ entries: [RoomLogEntry], in room: RoomID) {
        guard var state = roomStates[room] else { return }
        for entry in entries {
            let receipt = state.keyring.receive(entry)
            if entry.author == member, state.inFlight != nil, state.keyring.log.length > entry.seq { state.inFlight = nil }
            if receipt.changes.isEmpty == false { state.paused = false }
            for change in receipt.changes {
                if case .epochStarted(let record) = change {
                    state.serverEpoch = max(state.serverEpoch, record.epoch)
                    state.rotationRequested = false
                }
                if case .left(let who) = change, who == member, let leaving = state.leaving {
                    state.leaving = nil
                    leaving.resume()
                    send(.leave(RoomRef(room: room)))
                }
                eventSink.yield(.logChanged(room: room, change: change))
            }
            for warning in receipt.warnings { eventSink.yield(.roomWarning(room: room, warning: warning)) }
        }
        roomStates[room] = state
        keyArrived(in: room)
        reconcile(room)
    }

    func receive(_ bundle: EpochKeyBundle) {
        guard let log = roomStates[bundle.room]?.keyring.log else { return }
        // A key to an epoch started by someone whose staff grounds lapsed is not taken: they would
        // read everything said under it.
        if hasLapsedGrounds(log.epochs[bundle.epoch]?.author, in: log) {
            eventSink.yield(.roomWarning(room: bundle.room, warning: .entryRefused(seq: log.epochs[bundle.epoch]?.seq ?? 0, .needsStaff)))
            return
        }
        let receipt = roomStates[bundle.room]!.keyring.receive(bundle)
        switch receipt {
        case .stored(let key):
            eventSink.yield(.keyReceived(room: bundle.room, epoch: key.epoch, sealer: bundle.sealer))
            keyArrived(in: bundle.room)
        case .refused(let warning?):
            eventSink.yield(.roomWarning(room: bundle.room, warning: warning))
        case .held where roomStates[bundle.room]?.keyring.isBehind == true:
            // A key for an epoch this member's log does not have: entries are being held back.
            eventSink.yield(.roomWarning(room: bundle.room, warning: .behind(sender: bundle.sealer, length: 0)))
        case .noted, .held, .refused(nil):
            break
        }
        reconcile(bundle.room)
    }

    /// Opens the messages that waited for a key and wakes whoever waits to send.
    private func keyArrived(in room: RoomID) {
        guard let waiting = roomStates[room]?.waiting, !waiting.isEmpty || keyWaiters[room] != nil else { return }
        roomStates[room]?.waiting = []
        for frame in waiting { open(frame) }
        if canSend(in: room) {
            for continuation in keyWaiters.removeValue(forKey: room) ?? [] { continuation.resume() }
        }
    }

    /// A moderation action that belongs in the logs of rooms this client is in.
    func relay(_ frame: ModerationFrame) {
        guard frame.by != nil, [.remove, .ban, .admit, .lift].contains(frame.action.kind) else { return }
        let rooms = frame.action.room.map { [$0] } ?? Array(roomStates.keys)
        for room in rooms where roomStates[room] != nil {
            roomStates[room]?.relays.append(frame)
            reconcile(room)
        }
    }

    /// The server refused our entry: drop what it was, and write again once the log has moved
    /// past its position (at once, if the entry that took it has already arrived).
    func appendRefused(_ room: RoomID, code: String) {
        guard var state = roomStates[room], let inFlight = state.inFlight else { return }
        state.inFlight = nil
        if inFlight == .epoch { state.keyring.dropProposal() }
        if case .entry(_, let action?) = inFlight, code != "log_conflict" { state.relays.removeAll { $0.action.id == action } }
        let moved = state.keyring.log.length > state.inFlightSeq
        state.paused = !moved
        roomStates[room] = state
        if moved { reconcile(room) }
    }

    /// Looks at the room as the verified log gives it and does the one next thing it needs:
    /// start the log, write a moderation action into it, join, leave, start a new epoch when
    /// someone given the key is gone (or the server has one due, or nobody online holds it),
    /// or seal the current key to members of the log who lack it. Only the log's members ever
    /// get a key: a member the server invents is not in the log.
    func reconcile(_ room: RoomID) {
        guard var state = roomStates[room], state.caughtUp, !state.readingLog, state.inFlight == nil, !state.paused, connection != nil else { return }
        defer { roomStates[room] = state }
        let log = state.keyring.log
        let isMember = log.members.contains(member)
        if log.length == 0 {
            propose(&state, reason: "first")
            return
        }
        state.relays.removeAll { relay in
            guard let kind = RoomLogKind(rawValue: relay.action.kind.rawValue) else { return true }
            let candidate = RoomLogEntry(
                room: room, seq: log.length, previous: log.head, kind: kind, author: member, action: relay.action, proof: relay.by)
            return (try? log.check(candidate.signed(by: identity))) == nil
        }
        if let relay = state.relays.first, let kind = RoomLogKind(rawValue: relay.action.kind.rawValue) {
            write(state.keyring.entry(kind, action: relay.action, proof: relay.by), as: .entry(kind, action: relay.action.id), state: &state)
            return
        }
        if state.leaving != nil, isMember {
            write(state.keyring.entry(.leave), as: .entry(.leave, action: nil), state: &state)
            return
        }
        guard isMember else {
            if !log.excluded.contains(member), log.mode == .open || ownInfo?.staff != nil {
                write(state.keyring.entry(.join, proof: ownInfo), as: .entry(.join, action: nil), state: &state)
            }
            return
        }
        if state.keyring.mustRotate || (state.rotationRequested && state.dueEpoch > log.currentEpoch?.epoch ?? 0) {
            propose(&state, reason: state.keyring.mustRotate ? "removal" : "schedule")
            return
        }
        if log.entriesSinceEpoch >= RoomLog.checkpointInterval, state.keyring.currentKey != nil {
            propose(&state, reason: "checkpoint")
            return
        }
        guard let key = state.keyring.currentKey, let epoch = log.currentEpoch?.epoch else {
            let holders = (state.keyring.holders[log.currentEpoch?.epoch ?? 0] ?? []).union(log.currentEpoch.map { [$0.author] } ?? [])
            let waitingSince = state.waitingForKeySince ?? Date()
            state.waitingForKeySince = waitingSince
            if state.online.subtracting([member]).isDisjoint(with: holders) || Date().timeIntervalSince(waitingSince) >= RoomState.keyPatience {
                state.waitingForKeySince = nil
                propose(&state, reason: "no_holder")
            } else {
                reconcileLater(room)
            }
            return
        }
        state.waitingForKeySince = nil
        let now = UInt64(Date().timeIntervalSince1970)
        for recipient in state.keyring.membersWithoutKey {
            // In a private room, a place that rests on staff who are staff no longer (revoked,
            // expired, or a second key from one invite) gets no key, whatever the log took in.
            // Nor does one whose grounds this client never saw (a member listed in a checkpoint).
            if state.keyring.log.mode == .private {
                guard let grounds = state.keyring.log.grounds[recipient], staffTrust?.role(of: grounds.proof, at: grounds.at ?? now) != nil else {
                    continue
                }
            }
            guard let bundle = try? EpochKeyBundle.seal(key, to: recipient, by: identity) else { continue }
            state.keyring.sealed(to: recipient, epoch: epoch)
            send(.keyBundle(KeyBundleFrame(bundle: bundle)))
        }
    }

    /// Looks at the room again once a holder has had time to answer.
    private func reconcileLater(_ room: RoomID) {
        Task { [weak self] in
            try? await Task.sleep(for: .seconds(RoomState.keyPatience + 0.1))
            guard let self else { return }
            loop.execute { [self] in reconcile(room) }
        }
    }

    private func propose(_ state: inout RoomState, reason: String) {
        guard let entry = try? state.keyring.proposeEpoch(state.dueEpoch, reason: reason, mode: state.modeHint, proof: ownInfo) else { return }
        write(entry, as: .epoch, state: &state)
    }

    private func write(_ entry: RoomLogEntry, as inFlight: RoomState.InFlight, state: inout RoomState) {
        state.inFlight = inFlight
        state.inFlightSeq = entry.seq
        send(.appendLog(LogEntryFrame(entry: entry)))
    }
}
