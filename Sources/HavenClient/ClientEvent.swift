public import HavenProtocol

/// What a ``HavenClient`` tells its user, in order.
public enum ClientEvent: Sendable {
    /// A verified, decrypted room message (live or replayed) at `cursor`.
    case roomMessage(room: RoomID, message: OpenedMessage, cursor: UInt64)
    /// A verified, decrypted direct message at `cursor`.
    case directMessage(message: OpenedMessage, cursor: UInt64)
    /// A room message that could not be verified or decrypted (it is not shown).
    case undecryptable(room: RoomID, id: MessageID, error: ProtocolError)
    /// An epoch key arrived from `sealer`.
    case keyReceived(room: RoomID, epoch: UInt64, sealer: MemberID)
    /// The room's verified log changed: a member joined, left or was removed, or an epoch began.
    case logChanged(room: RoomID, change: RoomLogChange)
    /// Something in a room did not check out (a forked log, a replayed or withheld message, a
    /// key that does not match its commitment...). Show it to the member.
    case roomWarning(room: RoomID, warning: RoomWarning)
    /// A direct message from `from` was delivered twice (not shown again), or its counter went
    /// back or skipped.
    case directWarning(from: MemberID, warning: RoomWarning)
    /// Someone joined a room.
    case memberJoined(room: RoomID, member: MemberInfo)
    /// Someone left a room.
    case memberLeft(room: RoomID, member: MemberID)
    /// A replay finished; `room` is nil for direct messages.
    case synced(room: RoomID?, cursor: UInt64)
    /// A moderation action was taken, signed by a moderator whose proof verifies against the
    /// organisation key: hide a deleted message, note a suspension, ban or lift.
    case moderated(ModerationAction)
    /// A call signalling step from `from`, opened and verified (its sealed id and step match).
    case callSignal(CallSignal, from: MemberID)
    /// The server ended a call (no answer, the other party left or was sanctioned...).
    case callEnded(CallEnded)
    /// A counsellor in one of this client's rooms started or stopped offering calls.
    case callAvailability(CallAvailability)
    /// Counsellors online and members waiting (and this member's place while they wait).
    case availability(Availability)
    /// For counsellors: the members waiting to talk to one, oldest first.
    case counsellorQueue([QueueEntry])
    /// A counsellor took a waiting member (this one, or one this counsellor took);
    /// `counsellorVerified` says whether the counsellor's proof verified here.
    case queueTaken(QueueTaken, counsellorVerified: Bool)
    /// For counsellors: someone reported a message as worrying.
    case concern(Concern)
    /// The server refused something not tied to a pending call.
    case serverError(ErrorFrame)
    /// The connection ended, with the server's close code if it sent one.
    case disconnected(closeCode: UInt16?)
}
