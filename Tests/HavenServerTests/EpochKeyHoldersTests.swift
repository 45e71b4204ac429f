import HavenProtocol
@testable import HavenServer
import Sodium
import Testing

/// Who holds a room's key and who may seal it to whom, alone, without a server.
@Suite struct EpochKeyHoldersTests {
    let otter = MemberID(try! SigningKeyPair.generate().publicKey)
    let crow = MemberID(try! SigningKeyPair.generate().publicKey)
    let stranger = MemberID(try! SigningKeyPair.generate().publicKey)

    @Test func beforeALogTheFirstToSealItToThemselvesCreatesIt() {
        var holders = EpochKeyHolders([])
        #expect(holders.sealing(by: otter, to: crow, logMembers: nil) == .refused(code: "not_a_key_holder", message: "only a holder of the current key may share it"),
                "nobody holds it, so nobody can share it yet")
        #expect(holders.sealing(by: otter, to: otter, logMembers: nil) == .creates)
        holders.add(otter)
        #expect(holders.sealing(by: crow, to: crow, logMembers: nil) == .refused(code: "epoch_key_exists", message: "only a holder of the current key may share it"),
                "a second key for the same epoch is refused")
        #expect(holders.sealing(by: otter, to: crow, logMembers: nil) == .shares)
        #expect(holders.sealing(by: crow, to: stranger, logMembers: nil) != .shares, "only holders share")
    }

    @Test func withALogOnlyItsMembersSealItToItsMembers() {
        let holders = EpochKeyHolders([])
        let log: Set<MemberID> = [otter, crow]
        #expect(holders.sealing(by: otter, to: crow, logMembers: log) == .shares, "holding it is not what counts: the log is")
        #expect(holders.sealing(by: otter, to: stranger, logMembers: log) == .refused(code: "not_a_member", message: "keys are shared only between members of the room's log"))
        #expect(holders.sealing(by: stranger, to: otter, logMembers: log) != .shares)
    }

    @Test func holdersComeOnceAndGoWithTheLogOrANewEpoch() {
        var holders = EpochKeyHolders([otter])
        holders.add(crow)
        holders.add(crow)
        #expect(holders.members == [otter, crow])
        holders.remove([otter, stranger])
        #expect(holders.members == [crow])
        holders.clear()
        #expect(holders.isEmpty)
    }
}
