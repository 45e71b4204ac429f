/// How many counsellors are online and how many members wait to talk to one; for a waiting
/// member, also their place in the line. Members learn nothing else about the queue.
public struct Availability: Codable, Sendable, Equatable {
    /// Verified counsellors logged in now.
    public var counsellorsOnline: Int
    /// Members waiting to talk to a counsellor.
    public var waiting: Int
    /// The receiving member's place in the line (1 is next), while they wait.
    public var position: Int?

    /// Creates the frame.
    public init(counsellorsOnline: Int, waiting: Int, position: Int? = nil) {
        self.counsellorsOnline = counsellorsOnline
        self.waiting = waiting
        self.position = position
    }
}

/// One member waiting to talk to a counsellor, as counsellors see them.
public struct QueueEntry: Codable, Sendable, Equatable {
    /// The member.
    public var member: MemberID
    /// Their pseudonym.
    public var displayName: String
    /// When they asked (unix seconds).
    public var waitingSince: UInt64
    /// false while their connection is down (their place is kept for a minute).
    public var connected: Bool

    /// Creates the entry.
    public init(member: MemberID, displayName: String, waitingSince: UInt64, connected: Bool) {
        self.member = member
        self.displayName = displayName
        self.waitingSince = waitingSince
        self.connected = connected
    }
}

/// The line of members waiting to talk to a counsellor, oldest first; sent to counsellors only.
public struct CounsellorQueue: Codable, Sendable, Equatable {
    /// Oldest first.
    public var entries: [QueueEntry]

    /// Creates the frame.
    public init(entries: [QueueEntry]) { self.entries = entries }
}

/// A counsellor takes a waiting member (`takeFromQueue`, counsellor to server).
public struct QueueTake: Codable, Sendable, Equatable {
    /// The waiting member.
    public var member: MemberID

    /// Creates the frame.
    public init(member: MemberID) { self.member = member }
}

/// A counsellor took a waiting member (`queueTaken`, to both). The counsellor's staff proof comes
/// with it, so the member's device checks the role itself before showing it; the counsellor then
/// writes to the member privately.
public struct QueueTaken: Codable, Sendable, Equatable {
    /// The member who waited.
    public var member: MemberID
    /// Their pseudonym.
    public var displayName: String
    /// The counsellor, with their staff proof.
    public var counsellor: MemberInfo

    /// Creates the frame.
    public init(member: MemberID, displayName: String, counsellor: MemberInfo) {
        self.member = member
        self.displayName = displayName
        self.counsellor = counsellor
    }
}

/// Someone reported a message as worrying ("I'm worried about this person"); sent to the
/// counsellors online at once, so one can reach out. Only what the report names travels.
public struct Concern: Codable, Sendable, Equatable {
    /// The report's id.
    public var report: MessageID
    /// The room of a room message (nil for a private message).
    public var room: RoomID?
    /// The message reported.
    public var message: MessageID
    /// The member the reporter is worried about.
    public var member: MemberID
    /// Their pseudonym, when they are online.
    public var displayName: String?

    /// Creates the frame.
    public init(report: MessageID, room: RoomID?, message: MessageID, member: MemberID, displayName: String?) {
        self.report = report
        self.room = room
        self.message = message
        self.member = member
        self.displayName = displayName
    }
}
