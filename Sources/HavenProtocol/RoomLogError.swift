/// Why a room log entry was refused, by a client verifying the log or by the server before
/// storing it. ``code`` is what the server sends in its `error` frame.
public enum RoomLogError: Error, Equatable, Sendable, CustomStringConvertible {
    /// A field is missing, malformed, or the author's signature does not verify.
    case invalid(ProtocolError)
    /// The entry names another room.
    case wrongRoom
    /// The entry is not for the next position (another entry took it, or some were skipped).
    case outOfOrder(expected: UInt64, actual: UInt64)
    /// `previous` is not the hash of the entry before.
    case brokenChain(seq: UInt64)
    /// A log must begin with an `epoch` entry that sets its mode.
    case mustStartWithEpoch
    /// The author may not write this entry: they are not (or, for a join, already) a member.
    case notAMember
    /// The author is already a member (a second join or admission).
    case alreadyAMember
    /// The member was removed or banned, and nothing lifted it.
    case excluded
    /// A private room takes only staff, and members staff admit; this needs a verified staff proof.
    case needsStaff
    /// The moderation action does not verify, does not fit the entry, or its moderator's proof
    /// does not chain to the organisation key with the role it needs.
    case notAuthorised(String)
    /// An `epoch` entry must start an epoch later than every earlier one.
    case epochNotNew(last: UInt64, actual: UInt64)
    /// The server expects another epoch number (it started an epoch of its own for a removal or
    /// a schedule, which the next `epoch` entry takes up).
    case epochNotDue(due: UInt64, actual: UInt64)
    /// The room needs no new epoch now (nobody left, the key is held, none is due).
    case epochNotNeeded
    /// An `epoch` entry's members or excluded identities are not the set the log gives.
    case memberSetMismatch
    /// An `epoch` entry names another mode than the log's.
    case modeChanged
    /// This moderation action is already in the log.
    case duplicateAction

    /// The case's name, as the test vectors and the other implementations spell it.
    public var name: String {
        switch self {
        case .invalid: return "invalid"
        case .wrongRoom: return "wrongRoom"
        case .outOfOrder: return "outOfOrder"
        case .brokenChain: return "brokenChain"
        case .mustStartWithEpoch: return "mustStartWithEpoch"
        case .notAMember: return "notAMember"
        case .alreadyAMember: return "alreadyAMember"
        case .excluded: return "excluded"
        case .needsStaff: return "needsStaff"
        case .notAuthorised: return "notAuthorised"
        case .epochNotNew: return "epochNotNew"
        case .epochNotDue: return "epochNotDue"
        case .epochNotNeeded: return "epochNotNeeded"
        case .memberSetMismatch: return "memberSetMismatch"
        case .modeChanged: return "modeChanged"
        case .duplicateAction: return "duplicateAction"
        }
    }

    /// `log_conflict` when the entry lost a race for its position (read the new entries and sign
    /// again), `log_refused` otherwise.
    public var code: String {
        switch self {
        case .outOfOrder, .brokenChain: return "log_conflict"
        default: return "log_refused"
        }
    }

    public var description: String {
        switch self {
        case .invalid(let error): return "log entry is invalid: \(error)"
        case .wrongRoom: return "log entry is for another room"
        case .outOfOrder(let expected, let actual): return "log entry is for position \(actual), the log is at \(expected)"
        case .brokenChain(let seq): return "log entry \(seq) does not name the hash of the entry before it"
        case .mustStartWithEpoch: return "a room log starts with an epoch entry"
        case .notAMember: return "the author of this log entry is not a member of the room"
        case .alreadyAMember: return "already a member of the room"
        case .excluded: return "this member was removed or banned from the room"
        case .needsStaff: return "a private room takes only verified staff, and members they admit"
        case .notAuthorised(let why): return "moderation entry refused: \(why)"
        case .epochNotNew(let last, let actual): return "epoch \(actual) is not after the log's epoch \(last)"
        case .epochNotDue(let due, let actual): return "epoch \(actual) is not the room's next epoch, \(due)"
        case .epochNotNeeded: return "the room needs no new epoch now"
        case .memberSetMismatch: return "the epoch entry's member set is not the one the log gives"
        case .modeChanged: return "the epoch entry changes the room's mode"
        case .duplicateAction: return "this moderation action is already in the log"
        }
    }
}
