@testable import HavenServer
import Testing

/// One connection's budgets alone, without a server.
@Suite struct ConnectionBudgetsTests {
    let settings = RateLimitSettings()

    func spend(_ budgets: inout ConnectionBudgets, _ kind: ConnectionBudgets.Kind, at now: UInt64 = 0) -> Int {
        var taken = 0
        while budgets.take(kind, now: now) { taken += 1 }
        return taken
    }

    @Test func aNewIdentityStartsWithSmallerMessageAndFrameBudgets() {
        var new = ConnectionBudgets(settings: settings, isNewIdentity: true, now: 0)
        var known = ConnectionBudgets(settings: settings, isNewIdentity: false, now: 0)
        #expect(spend(&new, .message) == Int(settings.newIdentityMessageBurst))
        #expect(spend(&known, .message) == Int(settings.messageBurst))
        #expect(spend(&new, .frame) == Int(settings.newIdentityFrameBurst))
        #expect(spend(&known, .frame) == Int(settings.frameBurst))
        #expect(settings.newIdentityMessageBurst < settings.messageBurst && settings.newIdentityFrameBurst < settings.frameBurst)
    }

    @Test func eachKindHasItsOwnBudgetAndItRefills() {
        var budgets = ConnectionBudgets(settings: settings, isNewIdentity: false, now: 0)
        #expect(spend(&budgets, .roomChange) == Int(settings.roomChangeBurst))
        let bundle = budgets.take(.keyBundle, now: 0)
        #expect(bundle, "joining and leaving spent nothing else")
        #expect(spend(&budgets, .queueChange) == Int(ConnectionBudgets.queueChangeBurst))
        let wait = budgets.millisecondsUntil(.roomChange, now: 0)
        #expect(wait == Int(1000 / settings.roomChangesPerSecond))
        let later = budgets.take(.roomChange, now: UInt64(wait))
        #expect(later, "one more once its time has passed")
    }

    @Test func aRunOfRefusalsEndsTheConnectionUnlessSomethingIsAllowedBetween() {
        var budgets = ConnectionBudgets(settings: settings, isNewIdentity: false, now: 0)
        func strike() -> Bool { budgets.strike() }
        for _ in 0..<settings.maxStrikes { #expect(!strike()) }
        budgets.clearStrikes()
        for _ in 0..<settings.maxStrikes { #expect(!strike()) }
        #expect(strike(), "one more than the most in a row")
    }
}
