/// Times the store keeps only so that retention can purge by them (when a member was last seen,
/// when a message, a key bundle, an attachment or a log entry was stored) are kept to the hour,
/// rounded down: the database then says on which hour something happened, never the second, and
/// nothing is kept past its retention period. docs/operations.md, "Field by field", lists which.
public enum StoredTime {
    /// The precision of such times, in seconds.
    public static let precision: Int64 = 3600

    /// `seconds` (Unix time) rounded down to ``precision``.
    public static func coarse(_ seconds: Int64) -> Int64 {
        seconds - ((seconds % precision) + precision) % precision
    }

    /// The end of the hour `seconds` falls in: for a time a schedule counts from (an epoch's
    /// start), which may then run up to an hour late but never early.
    public static func endOfHour(_ seconds: Int64) -> Int64 {
        coarse(seconds) + precision
    }
}
