/// What one logged-in connection may still do, each a token bucket: messages, other frames, key
/// bundles, room log entries, joins and leaves, and changes to its place in the line to a
/// counsellor; and its run of refusals in a row. A new identity gets smaller message and frame
/// budgets. Pure state, no I/O: the server answers the refusals.
struct ConnectionBudgets {
    enum Kind: CaseIterable {
        case message, frame, keyBundle, logEntry, roomChange, queueChange
    }

    /// Changes to a place in the line: a few, then one each ten seconds.
    static let queueChangesPerSecond = 0.1
    static let queueChangeBurst = 5.0

    private var buckets: [Kind: TokenBucket]
    private let maxStrikes: Int
    /// Refusals in a row.
    private(set) var strikes = 0

    /// Full budgets at `now`, per `settings`; smaller message and frame ones for a new identity.
    init(settings: RateLimitSettings, isNewIdentity: Bool, now: UInt64) {
        maxStrikes = settings.maxStrikes
        let new = isNewIdentity
        buckets = [
            .message: TokenBucket(rate: new ? settings.newIdentityMessagesPerSecond : settings.messagesPerSecond,
                                  burst: new ? settings.newIdentityMessageBurst : settings.messageBurst, now: now),
            .frame: TokenBucket(rate: new ? settings.newIdentityFramesPerSecond : settings.framesPerSecond,
                                burst: new ? settings.newIdentityFrameBurst : settings.frameBurst, now: now),
            .keyBundle: TokenBucket(rate: settings.keyBundlesPerSecond, burst: settings.keyBundleBurst, now: now),
            .logEntry: TokenBucket(rate: settings.logEntriesPerSecond, burst: settings.logEntryBurst, now: now),
            .roomChange: TokenBucket(rate: settings.roomChangesPerSecond, burst: settings.roomChangeBurst, now: now),
            .queueChange: TokenBucket(rate: Self.queueChangesPerSecond, burst: Self.queueChangeBurst, now: now),
        ]
    }

    /// Takes one of `kind`, if there is one.
    mutating func take(_ kind: Kind, now: UInt64) -> Bool {
        buckets[kind]?.take(now: now) ?? false
    }

    /// Milliseconds until one of `kind` is there again.
    mutating func millisecondsUntil(_ kind: Kind, now: UInt64) -> Int {
        buckets[kind]?.millisecondsUntil(now: now) ?? 0
    }

    /// Counts a refusal; true when there have been more than `maxStrikes` in a row (the
    /// connection is to be closed).
    mutating func strike() -> Bool {
        strikes += 1
        return strikes > maxStrikes
    }

    /// Something was allowed: the run of refusals is over.
    mutating func clearStrikes() {
        strikes = 0
    }
}
