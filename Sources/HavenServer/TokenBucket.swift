/// Something that refills with time, so a full one holds nothing worth remembering.
protocol Refilling {
    /// True when nothing taken has yet to come back.
    mutating func isFull(now: UInt64) -> Bool
}

extension Dictionary where Value: Refilling {
    /// Forgets the entries that have refilled completely, so memory follows active keys only.
    mutating func forgetFull(now: UInt64) {
        self = filter { _, value in
            var copy = value
            return !copy.isFull(now: now)
        }
    }
}

/// A token bucket: `rate` tokens per second up to `burst`; each action takes one (or, for
/// byte budgets, as many as it has bytes).
/// Time is passed in (milliseconds), so tests control the clock.
struct TokenBucket: Refilling {
    let rate: Double
    let burst: Double
    private var tokens: Double
    private var updatedAt: UInt64

    init(rate: Double, burst: Double, now: UInt64) {
        self.rate = rate
        self.burst = burst
        tokens = burst
        updatedAt = now
    }

    /// Takes `amount` tokens (one by default) if there are that many.
    mutating func take(_ amount: Double = 1, now: UInt64) -> Bool {
        refill(now: now)
        guard tokens >= amount else { return false }
        tokens -= amount
        return true
    }

    /// Takes `amount` whether or not it is there (what another node spent): the bucket may go
    /// into debt, down to a whole burst, so what was spent elsewhere delays the next refill here
    /// instead of vanishing once the bucket is empty.
    mutating func drain(_ amount: Double, now: UInt64) {
        refill(now: now)
        tokens = max(-burst, tokens - amount)
    }

    /// Gives back `amount` tokens taken for work that never happened (an upload whose body
    /// never came), up to the burst.
    mutating func giveBack(_ amount: Double = 1, now: UInt64) {
        refill(now: now)
        tokens = min(burst, tokens + amount)
    }

    /// The tokens there are now.
    mutating func available(now: UInt64) -> Double {
        refill(now: now)
        return tokens
    }

    /// Milliseconds until `amount` tokens are there (0 if they are now).
    mutating func millisecondsUntil(_ amount: Double = 1, now: UInt64) -> Int {
        refill(now: now)
        guard tokens < amount, rate > 0 else { return 0 }
        return Int(((amount - tokens) / rate * 1000).rounded(.up))
    }

    /// True when the bucket is full (nothing to remember about this key).
    mutating func isFull(now: UInt64) -> Bool {
        refill(now: now)
        return tokens >= burst
    }

    private mutating func refill(now: UInt64) {
        guard now > updatedAt else { return }
        tokens = min(burst, tokens + Double(now - updatedAt) / 1000 * rate)
        updatedAt = now
    }
}
