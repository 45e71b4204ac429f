import Foundation

/// How many new identities logged in over the last minute, in six 10-second slots, and the proof
/// of work that asks of the next one: the base while the rate is normal, one more bit each time it
/// doubles past the flood threshold, up to the maximum. Loop thread only.
struct NewIdentityRate {
    private var slots = [Int](repeating: 0, count: 6)
    private var slotStart: UInt64 = 0
    let settings: ProofOfWorkSettings

    init(settings: ProofOfWorkSettings) {
        self.settings = settings
    }

    /// Counts one new identity at loop time `now` (milliseconds).
    mutating func record(now: UInt64) {
        advance(to: now)
        slots[slots.count - 1] += 1
    }

    /// New identities over the last minute.
    mutating func perMinute(now: UInt64) -> Int {
        advance(to: now)
        return slots.reduce(0, +)
    }

    /// The work, in bits, asked of a new identity now.
    mutating func bits(now: UInt64) -> Int {
        guard settings.baseBits > 0 else { return 0 }
        let rate = Double(perMinute(now: now))
        let threshold = max(1, settings.floodNewIdentitiesPerMinute)
        guard rate > threshold else { return settings.baseBits }
        return min(settings.maxBits, settings.baseBits + Int(log2(rate / threshold).rounded(.up)))
    }

    private mutating func advance(to now: UInt64) {
        let elapsed = Int(min(6, (now &- slotStart) / 10_000))
        guard elapsed > 0 else { return }
        slots = Array(slots.dropFirst(elapsed)) + [Int](repeating: 0, count: elapsed)
        slotStart = now - now % 10_000
    }
}
