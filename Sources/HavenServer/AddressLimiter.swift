import HavenNet
import Sodium

/// Per-address rate limits without keeping addresses: each address becomes a keyed BLAKE2b hash
/// under a key that is replaced every day, so yesterday's keys cannot be linked to today's and
/// nothing recoverable is kept. Everything lives in memory on the loop thread.
struct AddressLimiter {
    private var key: SecretBytes
    private var day: UInt64
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
        let today = wallClockSeconds / 86_400
        if today != day, let fresh = try? SecretBytes.random(count: 32) {
            key = fresh
            day = today
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
        // A 32-byte key and 16-byte output are within BLAKE2b's limits.
        return (try? GenericHash.hash(IPAddress.network(of: address), key: key, outputLength: 16)) ?? []
    }

    /// Takes a connection token for this address.
    mutating func allowConnection(_ addressKey: [UInt8], now: UInt64) -> Bool {
        connectionBuckets[addressKey, default: TokenBucket(
            rate: settings.addressConnectionsPerSecond, burst: settings.addressConnectionBurst, now: now)].take(now: now)
    }

    /// Takes a report token for this address.
    mutating func allowReport(_ addressKey: [UInt8], now: UInt64) -> Bool {
        reportBuckets[addressKey, default: TokenBucket(
            rate: settings.addressReportsPerMinute / 60, burst: settings.addressReportBurst, now: now)].take(now: now)
    }

    /// Takes a message token for this address.
    mutating func allowMessage(_ addressKey: [UInt8], now: UInt64) -> Bool {
        messageBuckets[addressKey, default: TokenBucket(
            rate: settings.addressMessagesPerSecond, burst: settings.addressMessageBurst, now: now)].take(now: now)
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
        body(&uploadBudgets[addressKey, default: UploadBudget(
            uploadsPerHour: quotas.addressUploadsPerHour, bytesPerHour: quotas.addressBytesPerHour, now: now)])
    }

    /// Takes the bytes of a message from this address's hour, if it has them.
    mutating func takeMessageBytes(_ addressKey: [UInt8], bytes: Int, now: UInt64) -> Bool {
        let perHour = settings.addressMessageBytesPerHour
        return messageByteBuckets[addressKey, default: TokenBucket(rate: perHour / 3600, burst: perHour, now: now)].take(Double(bytes), now: now)
    }

    /// Takes a ring (a call started) for this address, whatever identities ring from it.
    mutating func allowRing(_ addressKey: [UInt8], now: UInt64) -> Bool {
        ringBuckets[addressKey, default: TokenBucket(
            rate: calls.addressRingsPerMinute / 60, burst: calls.addressRingBurst, now: now)].take(now: now)
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
