/// Client to server: from whom this member takes private messages (docs/protocol.md,
/// "`directPreferences`"). The server keeps the choice in memory, for the member rather than the
/// connection, so it holds while they are away.
public struct DirectPreferences: Codable, Sendable, Equatable {
    /// Who may write to the member.
    public enum Senders: String, Codable, Sendable {
        /// Anyone logged in (the default).
        case anyone
        /// Counsellors, and people the member wrote to on a connection still open.
        case staffOnly = "staff_only"
    }

    /// Who may write.
    public var from: Senders

    /// Creates the frame.
    public init(from: Senders) {
        self.from = from
    }
}
