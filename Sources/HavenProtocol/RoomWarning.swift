/// Something a member's client noticed that the server (or another member) did wrong. Clients
/// show each in the room, in plain words.
public enum RoomWarning: Sendable, Equatable, CustomStringConvertible {
    /// Another member's message names a different log at the same length: the server is showing
    /// the two of you different rooms.
    case forked(sender: MemberID, length: UInt64)
    /// The server sent a log entry that does not verify, or one that contradicts an entry this
    /// client already verified at the same position.
    case entryRefused(seq: UInt64, RoomLogError)
    /// A message delivered again (same sender and id): not shown twice.
    case replayed(sender: MemberID, id: MessageID)
    /// A sender's counter went back or repeated with a new message: a replay, or the same
    /// identity on two devices.
    case counterRepeated(sender: MemberID, counter: UInt64)
    /// A sender's counter skipped: `missing` of their messages were not delivered.
    case messagesWithheld(sender: MemberID, missing: UInt64)
    /// Another member's message names a longer log than this member has: entries have not
    /// reached this member (the server may be holding back a removal). Sending waits for them.
    case behind(sender: MemberID, length: UInt64)
    /// A key bundle whose key does not open its epoch's signed commitment (refused).
    case keyMismatch(sealer: MemberID, epoch: UInt64)
    /// A message under a logged epoch from someone who was never given that epoch's key, or
    /// without the sender's log view (refused).
    case notEntitled(sender: MemberID, epoch: UInt64)

    public var description: String {
        switch self {
        case .forked(_, let length):
            return "Another member sees a different history of this room (at entry \(length)): the server may be showing you different rooms."
        case .entryRefused(let seq, let error):
            return "The server sent a room change that does not check out (entry \(seq)): \(error)."
        case .replayed:
            return "A message was delivered twice; it is shown once."
        case .counterRepeated:
            return "A member's message count went backwards: a message may have been replayed."
        case .messagesWithheld(_, let missing):
            return "\(missing) message(s) from a member did not arrive: the server may have withheld them."
        case .behind:
            return "Other members see changes to this room that have not reached you: the server may be holding them back. Sending waits until they arrive."
        case .keyMismatch(_, let epoch):
            return "Someone sent a room key that does not match epoch \(epoch)'s signed key; it was refused."
        case .notEntitled(_, let epoch):
            return "A message under epoch \(epoch) came from someone the room never gave that key; it is not shown."
        }
    }
}
