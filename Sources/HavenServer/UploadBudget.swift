/// What one identity or one client address may still upload this hour: a number of attachments
/// and a number of bytes, taken together or not at all.
struct UploadBudget: Refilling {
    private var uploads: TokenBucket
    private var bytes: TokenBucket
    /// Uploads and bytes taken, less what was given back, since ``drainTaken()`` (to tell other nodes).
    private var taken = (uploads: 0.0, bytes: 0.0)

    init(uploadsPerHour: Double, bytesPerHour: Double, now: UInt64) {
        uploads = TokenBucket(rate: uploadsPerHour / 3600, burst: uploadsPerHour, now: now)
        bytes = TokenBucket(rate: bytesPerHour / 3600, burst: bytesPerHour, now: now)
    }

    /// Whether one more upload of `count` bytes fits.
    mutating func allows(_ count: Int, now: UInt64) -> Bool {
        uploads.available(now: now) >= 1 && bytes.available(now: now) >= Double(count)
    }

    /// Takes one upload of `count` bytes (check ``allows(_:now:)`` first).
    mutating func take(_ count: Int, now: UInt64) {
        _ = uploads.take(now: now)
        _ = bytes.take(Double(count), now: now)
        taken.uploads += 1
        taken.bytes += Double(count)
    }

    /// What was taken since the last call, less what was given back.
    mutating func drainTaken() -> (uploads: Double, bytes: Double) {
        defer { taken = (0, 0) }
        return taken
    }

    /// Takes what another node took (into debt, as ``TokenBucket/drain(_:now:)`` says).
    mutating func takenElsewhere(uploads count: Double, bytes amount: Double, now: UInt64) {
        if count > 0 { uploads.drain(count, now: now) }
        if amount > 0 { bytes.drain(amount, now: now) }
    }

    /// Gives back `count` bytes that never arrived, and the upload itself with `upload`.
    mutating func giveBack(bytes count: Int, upload: Bool, now: UInt64) {
        if upload {
            uploads.giveBack(now: now)
            taken.uploads -= 1
        }
        bytes.giveBack(Double(count), now: now)
        taken.bytes -= Double(count)
    }

    /// True when nothing has been taken that has not come back (nothing to remember).
    mutating func isFull(now: UInt64) -> Bool {
        uploads.isFull(now: now) && bytes.isFull(now: now)
    }
}
