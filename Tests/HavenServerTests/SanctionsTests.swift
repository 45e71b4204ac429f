import HavenProtocol
@testable import HavenServer
@testable import HavenStore
import Sodium
import Testing

/// What each kind of moderation action does to the sanctions in force, without a server: the
/// checks made at every login and message, and what the server must carry out besides.
@Suite struct SanctionsTests {
    let moderator = try! SigningKeyPair.generate()
    let member = MemberID(try! SigningKeyPair.generate().publicKey)
    let lobby = try! RoomID("lobby")

    func action(_ kind: ModerationKind, until: UInt64? = nil, room: RoomID? = nil, lifts: MessageID? = nil) -> ModerationAction {
        ModerationAction.sign(kind, room: room, target: member, until: until, lifts: lifts, issuedAt: 1_000, by: moderator)
    }

    @Test func aBanKeepsTheMemberOutEndsTheirCallsAndDisconnectsThem() {
        var sanctions = Sanctions([])
        let ban = action(.ban)
        #expect(sanctions.apply(ban, lifted: nil) == [.endCalls(member), .disconnect(member)])
        #expect(sanctions.isBanned(member) && sanctions.isAgainst(member, actionID: ban.id.bytes))
        let record = SanctionRecord(actionID: ban.id.bytes, kind: "ban", member: member.bytes, until: nil, room: nil)
        #expect(sanctions.apply(action(.lift, lifts: ban.id), lifted: record) == [])
        #expect(!sanctions.isBanned(member), "lifted")
    }

    @Test func aSuspensionLastsUntilItsTimeAndNeedsOne() {
        var sanctions = Sanctions([])
        #expect(sanctions.apply(action(.suspend), lifted: nil) == [], "a suspension with no end does nothing")
        #expect(sanctions.apply(action(.suspend, until: 2_000), lifted: nil) == [.endCalls(member)])
        #expect(sanctions.isSuspended(member, now: 1_999) && !sanctions.isSuspended(member, now: 2_000))
        #expect(!sanctions.isBanned(member))
    }

    @Test func aRemovalIsFromOneRoomOnly() throws {
        var sanctions = Sanctions([])
        #expect(sanctions.apply(action(.remove, room: lobby), lifted: nil) == [])
        let elsewhere = try RoomID("night-owls")
        #expect(sanctions.isRemoved(member, from: lobby) && !sanctions.isRemoved(member, from: elsewhere))
        #expect(!sanctions.isBanned(member) && !sanctions.isSuspended(member, now: 0))
    }

    @Test func whatTheStoreHoldsIsInForceAtStartAndOtherKindsChangeNothing() {
        let banned = SanctionRecord(actionID: [1], kind: "ban", member: member.bytes, until: nil, room: nil)
        let removed = SanctionRecord(actionID: [2], kind: "remove", member: member.bytes, until: nil, room: "lobby")
        var sanctions = Sanctions([banned, removed])
        #expect(sanctions.isBanned(member) && sanctions.isRemoved(member, from: lobby))
        #expect(sanctions.isAgainst(member, actionID: [2]) && !sanctions.isAgainst(member, actionID: [3]))
        for kind in [ModerationKind.deleteMessage, .admit, .appoint] {
            #expect(sanctions.apply(action(kind, room: lobby), lifted: nil) == [])
        }
        #expect(sanctions.isBanned(member) && sanctions.isRemoved(member, from: lobby))
    }
}
