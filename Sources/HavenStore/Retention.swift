/// The kinds of data retention applies to, each with its own period.
public enum RetentionKind: String, Sendable, CaseIterable, Codable {
    /// Room messages (a room may set its own period).
    case roomMessages = "room_messages"
    /// Direct messages.
    case directMessages = "direct_messages"
    /// Encrypted attachment blobs.
    case attachments
    /// Epoch key bundles of epochs the room has moved past.
    case keyBundles = "key_bundles"
    /// Reports of messages.
    case reports
    /// The moderation log.
    case moderationLog = "moderation_log"
    /// Member identities not seen for this long.
    case idleIdentities = "idle_identities"
    /// Invites that were used, revoked or expired.
    case invites
    /// Records that a call happened (only written when call auditing is on).
    case callLog = "call_log"
    /// Each room's log before the newest checkpoint (an `epoch` entry) older than this: members
    /// verify the log from a checkpoint on, so what precedes one is history nobody needs.
    case roomLog = "room_log"

    /// The period when the operator has set none, in seconds (nil: kept forever).
    public var defaultSeconds: Int64? {
        let day: Int64 = 86_400
        switch self {
        case .roomMessages, .directMessages, .attachments, .invites, .roomLog: return 30 * day
        case .keyBundles, .idleIdentities: return 90 * day
        case .reports, .callLog: return 180 * day
        case .moderationLog: return 365 * day
        }
    }
}

/// Retention periods in force: the defaults, the operator's overrides, and per-room periods.
public struct RetentionPolicy: Sendable, Equatable {
    /// Period per kind in seconds; nil keeps that kind forever.
    public var periods: [RetentionKind: Int64?]
    /// Room-message periods of rooms that set their own (nil: forever).
    public var rooms: [String: Int64?]

    /// The period for `kind`.
    public func seconds(for kind: RetentionKind) -> Int64? {
        periods[kind] ?? kind.defaultSeconds
    }

    /// The longest of the periods that end, over every kind and every room's own: a copy of the
    /// database older than this holds nothing the live one still has to keep, except what is
    /// kept forever (which the live database, and every newer copy, still holds).
    public var longestSeconds: Int64 {
        let kinds = RetentionKind.allCases.compactMap { seconds(for: $0) }
        let ownPeriods = rooms.values.compactMap { $0 }
        return (kinds + ownPeriods).max() ?? 0
    }
}

/// What one purge pass deleted (or, in a dry run, would delete), per kind.
public struct PurgeReport: Sendable, Equatable {
    /// Rows per kind.
    public var deleted: [RetentionKind: Int] = [:]
    /// True when some kind hit the batch limit, so another pass has more to do.
    public var hasMore = false

    /// Rows in total.
    public var total: Int { deleted.values.reduce(0, +) }

    /// Creates an empty report.
    public init() {}

    /// Adds another pass's counts.
    public mutating func add(_ other: PurgeReport) {
        for (kind, count) in other.deleted { deleted[kind, default: 0] += count }
        hasMore = other.hasMore
    }
}
