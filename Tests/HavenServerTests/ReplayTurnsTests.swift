@testable import HavenServer
import Testing

/// The turns replays take per client address, without sockets: first come first served, a long
/// replay hands its turn on, and nothing is run twice or lost.
@Suite struct ReplayTurnsTests {
    let home: [UInt8] = [1]
    let elsewhere: [UInt8] = [2]

    @Test func theRestWaitTheirTurnInOrderAndAReplayIsNeverQueuedTwice() {
        var turns = ReplayTurns(perAddress: 1)
        var started: [Int] = []
        #expect(turns.take(home, replay: 1, now: 0) { started.append(1) })
        #expect(!turns.take(home, replay: 2, now: 0) { started.append(2) })
        #expect(!turns.take(home, replay: 3, now: 0) { started.append(3) })
        #expect(!turns.take(home, replay: 1, now: 0) { started.append(1) }, "a running replay got a second turn")
        #expect(turns.take(elsewhere, replay: 4, now: 0) {}, "another network waits for no one")
        #expect((turns.runningCount, turns.waitingCount) == (2, 2))

        turns.finish(1, now: 1)?()
        turns.finish(1, now: 1)?()
        #expect(started == [2], "the next in line, once")
        #expect(turns.finish(3, now: 1) == nil, "a waiting replay that ends frees nothing")
        turns.finish(2, now: 2)?()
        #expect(started == [2])
        #expect((turns.runningCount, turns.waitingCount) == (1, 0))
    }

    @Test func aLongReplayHandsItsTurnToTheNextAndWaitsAgain() {
        var turns = ReplayTurns(perAddress: 1)
        var started: [String] = []
        #expect(turns.take(home, replay: 1, now: 0) {})
        #expect(turns.passOn(1, now: 10_000, slice: 5_000) { started.append("1 again") } == nil, "nobody waits: it keeps its turn")
        #expect(!turns.take(home, replay: 2, now: 0) { started.append("2") })
        #expect(turns.passOn(1, now: 4_000, slice: 5_000) { started.append("1 again") } == nil, "its slice is not over")
        turns.passOn(1, now: 6_000, slice: 5_000) { started.append("1 again") }?()
        #expect(started == ["2"])
        turns.finish(2, now: 7_000)?()
        #expect(started == ["2", "1 again"])
        #expect((turns.runningCount, turns.waitingCount) == (1, 0))
    }
}
