/// A stored message as the server replays it: its cursor and the bytes that were stored.
public struct StoredItem: Sendable, Equatable {
    /// Position in its history (room or direct), increasing, never reused.
    public let cursor: Int64
    /// The opaque bytes stored (an envelope's or direct message's JSON).
    public let bytes: [UInt8]

    /// Creates a record.
    public init(cursor: Int64, bytes: [UInt8]) {
        self.cursor = cursor
        self.bytes = bytes
    }
}

/// What appending a message did: stored it, or found the same message (by sender and id in a
/// room, by recipient and id privately) already stored.
public enum AppendOutcome: Sendable, Equatable {
    /// Newly stored at `cursor`.
    case stored(cursor: Int64)
    /// Already stored at `cursor` (an idempotent resend or a replay): nothing was written.
    case duplicate(cursor: Int64)

    /// The cursor either way.
    public var cursor: Int64 {
        switch self {
        case .stored(let cursor), .duplicate(let cursor): return cursor
        }
    }
}

/// A room as the store keeps it.
public struct RoomRecord: Sendable, Equatable {
    /// The room id.
    public let id: String
    /// The display name.
    public let name: String
    /// "support" (open) or "private".
    public let kind: String
    /// The room's current key epoch.
    public let currentEpoch: Int64
    /// Whether the room is archived (read-only, hidden).
    public let isArchived: Bool
    /// The room's own message retention: nil follows the default; `.some(nil)` keeps forever.
    public let ownRetentionSeconds: Int64??

    /// The period that applies to this room's messages under `policy` (nil: forever).
    public func retentionSeconds(under policy: RetentionPolicy) -> Int64? {
        ownRetentionSeconds ?? policy.seconds(for: .roomMessages)
    }
}
