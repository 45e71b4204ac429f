/// How many replays of stored history may run at once for one client address: the rest wait
/// their turn, first come first served, so one network's newcomers (or one visitor joining and
/// leaving in a loop) cannot keep the store reading history for them alone. Loop thread only.
///
/// The caller runs what ``take(_:replay:start:)`` and ``finish(_:)`` hand back, outside this
/// value: a replay that starts may finish (and hand its turn on) before the call returns.
struct ReplayTurns {
    private struct Waiting {
        let replay: Int
        let start: () -> Void
    }

    private let perAddress: Int
    private var running: [[UInt8]: Set<Int>] = [:]
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
    /// a later ``finish(_:)``) once a turn is free.
    mutating func take(_ address: [UInt8], replay: Int, start: @escaping () -> Void) -> Bool {
        addressOf[replay] = address
        guard running[address, default: []].count >= perAddress else {
            running[address, default: []].insert(replay)
            return true
        }
        waiting[address, default: []].append(Waiting(replay: replay, start: start))
        return false
    }

    /// Ends `replay`'s turn (or its wait) and hands back the start of the next waiting replay,
    /// if one now has the turn. Finishing a replay twice, or one never taken, does nothing.
    mutating func finish(_ replay: Int) -> (() -> Void)? {
        guard let address = addressOf.removeValue(forKey: replay) else { return nil }
        if running[address]?.remove(replay) == nil {
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
        running[address, default: []].insert(next.replay)
        return next.start
    }
}
