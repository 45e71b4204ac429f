import HavenProtocol
@testable import HavenServer
import Sodium
import Testing

/// Who is in a room, alone, without a server: a member with several connections comes and goes
/// once, and everyone sees the members in the same order.
@Suite struct RoomPresenceTests {
    let otter = MemberID(try! SigningKeyPair.generate().publicKey)
    let crow = MemberID(try! SigningKeyPair.generate().publicKey)

    @Test func aMemberComesWithTheirFirstConnectionAndGoesWithTheirLast() {
        var presence = RoomPresence()
        let phoneCame = presence.arrive(connection: 7, member: otter)
        let laptopCame = presence.arrive(connection: 3, member: otter)
        #expect(phoneCame, "the phone: the room is told")
        #expect(!laptopCame, "the laptop: already here")
        let phoneWent = presence.leave(connection: 7)
        #expect(phoneWent == nil, "the laptop is still here")
        #expect(presence.isOnline(otter))
        let laptopWent = presence.leave(connection: 3)
        #expect(laptopWent == otter, "the last one out: the room is told")
        #expect(!presence.isOnline(otter))
    }

    @Test func aConnectionNotInTheRoomLeavesNothing() {
        var presence = RoomPresence()
        _ = presence.arrive(connection: 1, member: otter)
        let stranger = presence.leave(connection: 2)
        let first = presence.leave(connection: 1)
        let again = presence.leave(connection: 1)
        #expect(stranger == nil)
        #expect(first == otter)
        #expect(again == nil, "leaving twice tells the room once")
    }

    @Test func everyoneIsListedOnceInTheOrderTheyCame() {
        var presence = RoomPresence()
        _ = presence.arrive(connection: 5, member: crow)
        _ = presence.arrive(connection: 2, member: otter)
        _ = presence.arrive(connection: 9, member: otter)
        let online = presence.online
        #expect(online.map(\.member) == [otter, crow] && online.map(\.connection) == [2, 5])
        _ = presence.leave(connection: 2)
        #expect(presence.online.map(\.connection) == [5, 9], "the otter's other connection stands for them")
    }
}
