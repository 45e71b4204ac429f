import HavenProtocol
@testable import HavenServer
import Sodium
import Testing

/// Per-identity budgets alone, without a server: each is counted for the identity whatever its
/// connections, refills with time, and checking one takes nothing.
@Suite struct IdentityLimiterTests {
    let member = MemberID(try! SigningKeyPair.generate().publicKey)
    let neighbour = MemberID(try! SigningKeyPair.generate().publicKey)
    let settings = RateLimitSettings()
    let calls = CallSettings()

    func limiter() -> IdentityLimiter {
        IdentityLimiter(settings: settings, quotas: AttachmentQuotas(), calls: calls)
    }

    @Test func reportsComeInABurstThenOneAtATime() {
        var limits = limiter()
        func report(_ who: MemberID, at now: UInt64) -> Bool { limits.allowReport(who, now: now) }
        let burst = Int(settings.reportBurst)
        for _ in 0..<burst { #expect(report(member, at: 0)) }
        #expect(!report(member, at: 0), "past the burst")
        #expect(report(neighbour, at: 0), "another identity has its own")
        let oneReport = UInt64(60_000 / settings.reportsPerMinute)
        #expect(report(member, at: oneReport), "one more once a report's time has passed")
        #expect(!report(member, at: oneReport))
    }

    /// Two nodes each spending their refill: what the other node spent puts this one in debt,
    /// so between them they get one budget, not two.
    @Test func whatAnotherNodeSpentIsOwedHere() {
        var limits = limiter()
        limits.journal.isOn = true
        let burst = Int(settings.reportBurst)
        for _ in 0..<burst {
            let allowed = limits.allowReport(member, now: 0)
            #expect(allowed)
        }
        let spent = limits.journal.drain()
        #expect(spent == [member: [.report: Double(burst)]], "what this node took is told once")
        let again = limits.journal.drain()
        #expect(again.isEmpty)
        // The other node spent a whole burst too: this one owes it.
        limits.spentElsewhere(Double(burst), of: .report, by: member, isNew: false, now: 0)
        let oneReport = UInt64(60_000 / settings.reportsPerMinute)
        let whileOwing = limits.allowReport(member, now: oneReport)
        #expect(!whileOwing, "a refill pays the debt first")
        let paid = limits.allowReport(member, now: oneReport * UInt64(burst + 1))
        #expect(paid, "once it is paid, one more")
    }

    /// Attachments taken on one node count on the others: an hour's uploads spent elsewhere
    /// leave none here.
    @Test func uploadsTakenOnAnotherNodeCountHere() {
        var here = limiter(), elsewhere = limiter()
        elsewhere.journal.isOn = true
        let quotas = AttachmentQuotas()
        for _ in 0..<Int(quotas.uploadsPerHour) { elsewhere.withUploadBudget(member, now: 0) { $0.take(1_000, now: 0) } }
        elsewhere.withUploadBudget(member, now: 0) { $0.giveBack(bytes: 500, upload: false, now: 0) }
        let spent = elsewhere.journal.drain()[member] ?? [:]
        #expect(spent[.uploads] == quotas.uploadsPerHour && spent[.uploadBytes] == quotas.uploadsPerHour * 1_000 - 500,
                "what was taken, less what was given back, is told")
        let before = here.withUploadBudget(member, now: 0) { $0.allows(1, now: 0) }
        #expect(before)
        for (budget, amount) in spent { here.spentElsewhere(amount, of: budget, by: member, isNew: false, now: 0) }
        let after = here.withUploadBudget(member, now: 0) { $0.allows(1, now: 0) }
        #expect(!after, "the hour's uploads were spent on the other node")
    }

    @Test func checkingForARingTakesNothing() {
        var limits = limiter()
        func hasRing(at now: UInt64) -> Bool { limits.hasRing(member, now: now) }
        for _ in 0..<10 { #expect(hasRing(at: 0)) }
        for _ in 0..<Int(calls.ringBurst) {
            #expect(hasRing(at: 0))
            limits.takeRing(member, now: 0)
        }
        #expect(!hasRing(at: 0), "the burst is spent")
        #expect(hasRing(at: UInt64(60_000 / calls.ringsPerMinute)))
    }

    @Test func aNewIdentityWritesLessInItsFirstHour() {
        var limits = limiter()
        func has(_ bytes: Int, _ who: MemberID, isNew: Bool = true, at now: UInt64 = 0) -> Bool {
            limits.hasMessageBytes(bytes, member: who, isNew: isNew, now: now)
        }
        let newHour = Int(settings.newIdentityMessageBytesPerHour)
        #expect(has(newHour, member))
        #expect(!has(newHour + 1, member))
        #expect(has(newHour + 1, neighbour, isNew: false), "an established identity writes more")
        limits.takeMessageBytes(newHour, member: member, isNew: true, now: 0)
        #expect(!has(1_000, member), "the hour is spent")
        #expect(has(1_000, member, at: 3_600_000), "and refilled an hour later")
    }

    @Test func anUploadBudgetIsTheIdentitysWhateverItsConnections() {
        var limits = limiter()
        func allows(_ bytes: Int) -> Bool { limits.withUploadBudget(member, now: 0) { $0.allows(bytes, now: 0) } }
        for _ in 0..<Int(AttachmentQuotas().uploadsPerHour) {
            #expect(allows(1_000))
            limits.withUploadBudget(member, now: 0) { $0.take(1_000, now: 0) }
        }
        #expect(!allows(1_000), "the hour's uploads are spent")
        limits.withUploadBudget(member, now: 0) { $0.giveBack(bytes: 1_000, upload: true, now: 0) }
        #expect(allows(1_000), "an upload that never arrived is given back")
        limits.prune(now: 0)
        limits.withUploadBudget(member, now: 0) { $0.take(1_000, now: 0) }
        #expect(!allows(1_000), "a budget still in use is not forgotten when the rest are")
    }
}
