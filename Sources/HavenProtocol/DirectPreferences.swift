/// Client to server: from whom this member takes private messages (docs/protocol.md,
/// "`directPreferences`"). The server keeps the choice in memory, for the member rather than the
/// connection, so it holds while they are away.
public struct DirectPreferences: Codable, Sendable, Equatable {
    /// Who may write to the member.
    public enum Senders: String, Codable, Sendable {
        /// Anyone logged in (the default).
        case anyone
        /// Counsellors, and people the member wrote to (on a connection still open, or as
        /// ``writtenTo`` says).
        case staffOnly = "staff_only"
    }

    /// Most people ``writtenTo`` may name.
    public static let maxWrittenTo = 256

    /// Who may write.
    public var from: Senders
    /// People this member's device wrote to before this connection (after a reload or a dropped
    /// connection): they may go on writing back, as if written to on this connection.
    public var writtenTo: [MemberID]?

    /// Creates the frame.
    public init(from: Senders, writtenTo: [MemberID]? = nil) {
        self.from = from
        self.writtenTo = writtenTo
    }

    /// Checks the list's length.
    ///
    /// - Throws: ``ProtocolError/fieldTooLarge(field:size:limit:)`` past ``maxWrittenTo``.
    public func validate() throws(ProtocolError) {
        if let writtenTo, writtenTo.count > Self.maxWrittenTo {
            throw .fieldTooLarge(field: "writtenTo", size: writtenTo.count, limit: Self.maxWrittenTo)
        }
    }
}
