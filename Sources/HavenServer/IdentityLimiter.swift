import HavenProtocol

/// Per-identity budgets, whatever connections an identity uses: reports, calls started, bytes
/// of messages and attachments an hour. The identity's side of what ``AddressLimiter`` does
/// for client addresses; where both apply, the server takes from both or from neither (check
/// with the `has…` methods, then take). Pure state on the loop thread, forgotten once refilled.
struct IdentityLimiter {
    /// The budgets nodes share: what one node takes, the others take too.
    enum Budget: String, Codable, Sendable {
        case report, ring, messageBytes, uploads, uploadBytes
    }

    /// With other nodes: what this node took, to tell them.
    var journal = SpendingJournal<MemberID, Budget>()
    private var reportBuckets: [MemberID: TokenBucket] = [:]
    private var ringBuckets: [MemberID: TokenBucket] = [:]
    private var messageByteBuckets: [MemberID: TokenBucket] = [:]
    private var uploadBudgets: [MemberID: UploadBudget] = [:]
    private let settings: RateLimitSettings
    private let calls: CallSettings
    private let quotas: AttachmentQuotas

    init(settings: RateLimitSettings, quotas: AttachmentQuotas, calls: CallSettings) {
        self.settings = settings
        self.quotas = quotas
        self.calls = calls
    }

    /// Takes a report token for `member`.
    mutating func allowReport(_ member: MemberID, now: UInt64) -> Bool {
        let fresh = reportBucket(now: now)
        let allowed = reportBuckets[member, default: fresh].take(now: now)
        if allowed { record(.report, 1, by: member) }
        return allowed
    }

    /// Whether `member` may start a call now (``takeRing(_:now:)`` takes it).
    mutating func hasRing(_ member: MemberID, now: UInt64) -> Bool {
        let fresh = ringBucket(now: now)
        return ringBuckets[member, default: fresh].available(now: now) >= 1
    }

    /// Takes a call started from `member`'s budget.
    mutating func takeRing(_ member: MemberID, now: UInt64) {
        let fresh = ringBucket(now: now)
        _ = ringBuckets[member, default: fresh].take(now: now)
        record(.ring, 1, by: member)
    }

    /// Whether `member`'s hour has room for a message of `bytes` (``takeMessageBytes(_:member:isNew:now:)`` takes them).
    mutating func hasMessageBytes(_ bytes: Int, member: MemberID, isNew: Bool, now: UInt64) -> Bool {
        let fresh = messageByteBucket(isNew: isNew, now: now)
        return messageByteBuckets[member, default: fresh].available(now: now) >= Double(bytes)
    }

    /// Takes the bytes of a message from `member`'s hour (a new identity's hour holds fewer).
    mutating func takeMessageBytes(_ bytes: Int, member: MemberID, isNew: Bool, now: UInt64) {
        let fresh = messageByteBucket(isNew: isNew, now: now)
        _ = messageByteBuckets[member, default: fresh].take(Double(bytes), now: now)
        record(.messageBytes, Double(bytes), by: member)
    }

    /// Takes from `member`'s budget what another node took (as much as is left: the budget
    /// only empties, it is never refused).
    mutating func spentElsewhere(_ amount: Double, of budget: Budget, by member: MemberID, isNew: Bool, now: UInt64) {
        switch budget {
        case .report:
            let fresh = reportBucket(now: now)
            reportBuckets[member, default: fresh].drain(amount, now: now)
        case .ring:
            let fresh = ringBucket(now: now)
            ringBuckets[member, default: fresh].drain(amount, now: now)
        case .messageBytes:
            let fresh = messageByteBucket(isNew: isNew, now: now)
            messageByteBuckets[member, default: fresh].drain(amount, now: now)
        case .uploads, .uploadBytes:
            let fresh = uploadBudget(now: now)
            uploadBudgets[member, default: fresh].takenElsewhere(
                uploads: budget == .uploads ? amount : 0, bytes: budget == .uploadBytes ? amount : 0, now: now)
        }
    }

    private mutating func record(_ budget: Budget, _ amount: Double, by member: MemberID) {
        journal.record(amount, of: budget, by: member)
    }

    private func reportBucket(now: UInt64) -> TokenBucket {
        TokenBucket(rate: settings.reportsPerMinute / 60, burst: settings.reportBurst, now: now)
    }

    /// `member`'s attachment budget for the hour.
    mutating func withUploadBudget<Result>(_ member: MemberID, now: UInt64, _ body: (inout UploadBudget) -> Result) -> Result {
        let fresh = uploadBudget(now: now)
        let result = body(&uploadBudgets[member, default: fresh])
        if let taken = uploadBudgets[member]?.drainTaken() {
            record(.uploads, taken.uploads, by: member)
            record(.uploadBytes, taken.bytes, by: member)
        }
        return result
    }

    private func uploadBudget(now: UInt64) -> UploadBudget {
        UploadBudget(uploadsPerHour: quotas.uploadsPerHour, bytesPerHour: quotas.bytesPerHour, now: now)
    }

    /// Forgets budgets that have refilled completely, so memory follows active identities only.
    mutating func prune(now: UInt64) {
        reportBuckets.forgetFull(now: now)
        ringBuckets.forgetFull(now: now)
        messageByteBuckets.forgetFull(now: now)
        uploadBudgets.forgetFull(now: now)
    }

    private func ringBucket(now: UInt64) -> TokenBucket {
        TokenBucket(rate: calls.ringsPerMinute / 60, burst: calls.ringBurst, now: now)
    }

    private func messageByteBucket(isNew: Bool, now: UInt64) -> TokenBucket {
        let perHour = isNew ? settings.newIdentityMessageBytesPerHour : settings.messageBytesPerHour
        return TokenBucket(rate: perHour / 3600, burst: perHour, now: now)
    }
}
