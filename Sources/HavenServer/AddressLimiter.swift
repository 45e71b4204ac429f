import HavenNet
import Sodium

/// Per-address rate limits without keeping addresses: each address becomes a keyed BLAKE2b hash
/// under a key that is replaced every day, so yesterday's keys cannot be linked to today's and
/// nothing recoverable is kept. Everything lives in memory on the loop thread.
struct AddressLimiter {
    /// The budgets nodes share: what one node takes from an address, the others take too (the
    /// nodes key addresses alike once they agreed on the day's key, ``adoptSharedKey(_:day:)``).
    enum Budget: String, Codable, Sendable {
        case connection, report, message, messageBytes, ring, uploads, uploadBytes
    }

    /// With other nodes: what this node took, to tell them (kept only under a key they share).
    var journal = SpendingJournal<[UInt8], Budget>()
    private var key: SecretBytes
    /// The day (since 1970) the key is for.
    private(set) var day: UInt64
    /// Whether the key is the one every node uses today.
    private(set) var keyIsShared = false
    private var messageBuckets: [[UInt8]: TokenBucket] = [:]
    private var connectionBuckets: [[UInt8]: TokenBucket] = [:]
    private var reportBuckets: [[UInt8]: TokenBucket] = [:]
    private var frameBuckets: [[UInt8]: TokenBucket] = [:]
    private var requestBuckets: [[UInt8]: TokenBucket] = [:]
    private var uploadBudgets: [[UInt8]: UploadBudget] = [:]
    private var downloadBuckets: [[UInt8]: TokenBucket] = [:]
    private var messageByteBuckets: [[UInt8]: TokenBucket] = [:]
    private var ringBuckets: [[UInt8]: TokenBucket] = [:]
    private let settings: RateLimitSettings
    private let calls: CallSettings
    private let quotas: AttachmentQuotas

    init(settings: RateLimitSettings, quotas: AttachmentQuotas, calls: CallSettings, wallClockSeconds: UInt64) throws {
        self.settings = settings
        self.quotas = quotas
        self.calls = calls
        key = try SecretBytes.random(count: 32)
        day = wallClockSeconds / 86_400
    }

    /// The keyed hash that stands for `address` today.
    mutating func key(for address: [UInt8], wallClockSeconds: UInt64) -> [UInt8] {
        rollOver(wallClockSeconds: wallClockSeconds)
        // A 32-byte key and 16-byte output are within BLAKE2b's limits.
        return (try? GenericHash.hash(IPAddress.network(of: address), key: key, outputLength: 16)) ?? []
    }

    /// Moves to a fresh key of its own when the day has changed (yesterday's hashes cannot be
    /// linked to today's); budgets start afresh.
    mutating func rollOver(wallClockSeconds: UInt64) {
        let today = wallClockSeconds / 86_400
        guard today != day, let fresh = try? SecretBytes.random(count: 32) else { return }
        key = fresh
        day = today
        keyIsShared = false
        forgetBudgets()
    }

    /// Takes `key` (today's, as every node uses it) in place of this node's own; budgets start
    /// afresh under it. A key for another day is not taken.
    mutating func adoptSharedKey(_ shared: [UInt8], day sharedDay: UInt64) {
        guard sharedDay == day, shared.count == 32 else { return }
        var bytes = shared
        guard let adopted = try? SecretBytes(consuming: &bytes) else { return }
        key = adopted
        keyIsShared = true
        forgetBudgets()
    }

    private mutating func forgetBudgets() {
        _ = journal.drain()
        messageBuckets.removeAll()
        connectionBuckets.removeAll()
        reportBuckets.removeAll()
        frameBuckets.removeAll()
        requestBuckets.removeAll()
        uploadBudgets.removeAll()
        downloadBuckets.removeAll()
        messageByteBuckets.removeAll()
        ringBuckets.removeAll()
    }

    /// Takes from an address's budget what another node took (into debt, as ``TokenBucket/drain(_:now:)`` says).
    mutating func spentElsewhere(_ amount: Double, of budget: Budget, by addressKey: [UInt8], now: UInt64) {
        let fresh = bucket(budget, now: now)
        switch budget {
        case .connection: connectionBuckets[addressKey, default: fresh].drain(amount, now: now)
        case .report: reportBuckets[addressKey, default: fresh].drain(amount, now: now)
        case .message: messageBuckets[addressKey, default: fresh].drain(amount, now: now)
        case .messageBytes: messageByteBuckets[addressKey, default: fresh].drain(amount, now: now)
        case .ring: ringBuckets[addressKey, default: fresh].drain(amount, now: now)
        case .uploads, .uploadBytes:
            let budgetFresh = uploadBudget(now: now)
            uploadBudgets[addressKey, default: budgetFresh].takenElsewhere(
                uploads: budget == .uploads ? amount : 0, bytes: budget == .uploadBytes ? amount : 0, now: now)
        }
    }

    private func bucket(_ budget: Budget, now: UInt64) -> TokenBucket {
        switch budget {
        case .connection: TokenBucket(rate: settings.addressConnectionsPerSecond, burst: settings.addressConnectionBurst, now: now)
        case .report: TokenBucket(rate: settings.addressReportsPerMinute / 60, burst: settings.addressReportBurst, now: now)
        case .message: TokenBucket(rate: settings.addressMessagesPerSecond, burst: settings.addressMessageBurst, now: now)
        case .messageBytes: TokenBucket(rate: settings.addressMessageBytesPerHour / 3600, burst: settings.addressMessageBytesPerHour, now: now)
        case .ring: TokenBucket(rate: calls.addressRingsPerMinute / 60, burst: calls.addressRingBurst, now: now)
        case .uploads: TokenBucket(rate: quotas.addressUploadsPerHour / 3600, burst: quotas.addressUploadsPerHour, now: now)
        case .uploadBytes: TokenBucket(rate: quotas.addressBytesPerHour / 3600, burst: quotas.addressBytesPerHour, now: now)
        }
    }

    /// Counts what was taken, for the other nodes (only under a key they share).
    private mutating func record(_ budget: Budget, _ amount: Double, by addressKey: [UInt8], if taken: Bool) -> Bool {
        if taken, keyIsShared { journal.record(amount, of: budget, by: addressKey) }
        return taken
    }

    /// Takes a connection token for this address.
    mutating func allowConnection(_ addressKey: [UInt8], now: UInt64) -> Bool {
        let fresh = bucket(.connection, now: now)
        return record(.connection, 1, by: addressKey, if: connectionBuckets[addressKey, default: fresh].take(now: now))
    }

    /// Takes a report token for this address.
    mutating func allowReport(_ addressKey: [UInt8], now: UInt64) -> Bool {
        let fresh = bucket(.report, now: now)
        return record(.report, 1, by: addressKey, if: reportBuckets[addressKey, default: fresh].take(now: now))
    }

    /// Takes a message token for this address.
    mutating func allowMessage(_ addressKey: [UInt8], now: UInt64) -> Bool {
        let fresh = bucket(.message, now: now)
        return record(.message, 1, by: addressKey, if: messageBuckets[addressKey, default: fresh].take(now: now))
    }

    /// Milliseconds until this address may send a message again.
    mutating func millisecondsUntilMessage(_ addressKey: [UInt8], now: UInt64) -> Int {
        messageBuckets[addressKey]?.millisecondsUntil(now: now) ?? 0
    }

    /// Takes a token for any other frame from this address.
    mutating func allowFrame(_ addressKey: [UInt8], now: UInt64) -> Bool {
        frameBuckets[addressKey, default: TokenBucket(
            rate: settings.addressFramesPerSecond, burst: settings.addressFrameBurst, now: now)].take(now: now)
    }

    /// Takes a token for a plain HTTP request from this address.
    mutating func allowRequest(_ addressKey: [UInt8], now: UInt64) -> Bool {
        requestBuckets[addressKey, default: TokenBucket(
            rate: settings.addressRequestsPerSecond, burst: settings.addressRequestBurst, now: now)].take(now: now)
    }

    /// This address's attachment budget for the hour.
    mutating func withUploadBudget<Result>(_ addressKey: [UInt8], now: UInt64, _ body: (inout UploadBudget) -> Result) -> Result {
        let fresh = uploadBudget(now: now)
        let result = body(&uploadBudgets[addressKey, default: fresh])
        if let taken = uploadBudgets[addressKey]?.drainTaken() {
            _ = record(.uploads, taken.uploads, by: addressKey, if: taken.uploads != 0)
            _ = record(.uploadBytes, taken.bytes, by: addressKey, if: taken.bytes != 0)
        }
        return result
    }

    private func uploadBudget(now: UInt64) -> UploadBudget {
        UploadBudget(uploadsPerHour: quotas.addressUploadsPerHour, bytesPerHour: quotas.addressBytesPerHour, now: now)
    }

    /// Takes the bytes of a message from this address's hour, if it has them.
    mutating func takeMessageBytes(_ addressKey: [UInt8], bytes: Int, now: UInt64) -> Bool {
        let fresh = bucket(.messageBytes, now: now)
        return record(.messageBytes, Double(bytes), by: addressKey, if: messageByteBuckets[addressKey, default: fresh].take(Double(bytes), now: now))
    }

    /// Takes a ring (a call started) for this address, whatever identities ring from it.
    mutating func allowRing(_ addressKey: [UInt8], now: UInt64) -> Bool {
        let fresh = bucket(.ring, now: now)
        return record(.ring, 1, by: addressKey, if: ringBuckets[addressKey, default: fresh].take(now: now))
    }

    /// Takes the bytes of an attachment this address is about to download, if its hour has them.
    mutating func takeDownload(_ addressKey: [UInt8], bytes: Int, now: UInt64) -> Bool {
        let perHour = quotas.addressDownloadBytesPerHour
        return downloadBuckets[addressKey, default: TokenBucket(rate: perHour / 3600, burst: perHour, now: now)].take(Double(bytes), now: now)
    }

    /// Forgets buckets that have refilled completely, so memory follows active addresses only.
    mutating func prune(now: UInt64) {
        messageBuckets.forgetFull(now: now)
        connectionBuckets.forgetFull(now: now)
        reportBuckets.forgetFull(now: now)
        frameBuckets.forgetFull(now: now)
        requestBuckets.forgetFull(now: now)
        uploadBudgets.forgetFull(now: now)
        downloadBuckets.forgetFull(now: now)
        messageByteBuckets.forgetFull(now: now)
        ringBuckets.forgetFull(now: now)
    }
}
