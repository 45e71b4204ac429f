/// How many replays of stored history may run at once for one client address: the rest wait
/// their turn, first come first served, and a replay that has run for a while hands its turn to
/// the next one waiting and waits again, so one network's newcomers (or one visitor joining and
/// leaving in a loop, or reading as slowly as it can) cannot keep the store reading history for
/// them alone. Loop thread only.
///
/// The caller runs what ``take(_:replay:now:start:)``, ``passOn(_:now:slice:resume:)`` and
/// ``finish(_:now:)`` hand back, outside this value: a replay that starts may finish (and hand
/// its turn on) before the call returns.
struct ReplayTurns {
    private struct Waiting {
        let replay: Int
        let start: () -> Void
    }

    private let perAddress: Int
    /// The replays running per address, with when each got its turn (loop milliseconds).
    private var running: [[UInt8]: [Int: UInt64]] = [:]
    private var waiting: [[UInt8]: [Waiting]] = [:]
    private var addressOf: [Int: [UInt8]] = [:]

    init(perAddress: Int) {
        self.perAddress = max(1, perAddress)
    }

    /// Replays running now.
    var runningCount: Int { running.values.reduce(0) { $0 + $1.count } }
    /// Replays waiting for their turn.
    var waitingCount: Int { waiting.values.reduce(0) { $0 + $1.count } }

    /// Gives `replay` a turn: true when it may start now; otherwise `start` runs (handed back by
    /// a later ``finish(_:now:)`` or ``passOn(_:now:slice:resume:)``) once a turn is free. A
    /// replay already running or waiting gets no second turn (false).
    mutating func take(_ address: [UInt8], replay: Int, now: UInt64, start: @escaping () -> Void) -> Bool {
        guard addressOf[replay] == nil else { return false }
        addressOf[replay] = address
        guard running[address, default: [:]].count >= perAddress else {
            running[address, default: [:]][replay] = now
            return true
        }
        waiting[address, default: []].append(Waiting(replay: replay, start: start))
        return false
    }

    /// When `replay` has run for `slice` milliseconds or more and another replay from its address
    /// waits, hands the turn to that one (whose start is returned, to run now) and puts `replay`
    /// at the back of the line, to go on with `resume`. Nil: `replay` keeps its turn.
    mutating func passOn(_ replay: Int, now: UInt64, slice: UInt64, resume: @escaping () -> Void) -> (() -> Void)? {
        guard let address = addressOf[replay], let since = running[address]?[replay], now &- since >= slice,
              var queue = waiting[address], !queue.isEmpty
        else { return nil }
        let next = queue.removeFirst()
        queue.append(Waiting(replay: replay, start: resume))
        waiting[address] = queue
        running[address]?[replay] = nil
        running[address, default: [:]][next.replay] = now
        return next.start
    }

    /// Ends `replay`'s turn (or its wait) and hands back the start of the next waiting replay,
    /// if one now has the turn. Finishing a replay twice, or one never taken, does nothing.
    mutating func finish(_ replay: Int, now: UInt64) -> (() -> Void)? {
        guard let address = addressOf.removeValue(forKey: replay) else { return nil }
        if running[address]?.removeValue(forKey: replay) == nil {
            waiting[address]?.removeAll { $0.replay == replay }
            if waiting[address]?.isEmpty == true { waiting[address] = nil }
            return nil
        }
        guard var queue = waiting[address], !queue.isEmpty else {
            if running[address]?.isEmpty == true { running[address] = nil }
            return nil
        }
        let next = queue.removeFirst()
        waiting[address] = queue.isEmpty ? nil : queue
        running[address, default: [:]][next.replay] = now
        return next.start
    }
}
