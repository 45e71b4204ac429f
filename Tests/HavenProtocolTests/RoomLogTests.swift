import HavenProtocol
import Sodium
import Testing

/// The room log's rules, one class of bad entry at a time: each is refused, and the log is
/// left as it was.
@Suite struct RoomLogTests {
    let fixtures = try! Fixtures()
    let organisation = try! SigningKeyPair.generate()
    var room: RoomID { fixtures.room }

    /// A staff proof for `member`, certified by the organisation.
    func staffProof(_ member: SigningKeyPair, role: StaffRole = .counsellor) throws -> MemberInfo {
        let (invite, seed) = try InviteCertificate.issue(role: role, expiresAt: 4_000_000_000, staffUntil: 4_000_000_000, organisation: organisation)
        let certificate = try StaffCertificate.redeem(invite, seed: seed, member: MemberID(member))
        return MemberInfo(member: MemberID(member), displayName: "Staff", staff: certificate)
    }

    func entry(
        _ log: RoomLog, _ kind: RoomLogKind, by author: SigningKeyPair, action: ModerationAction? = nil, proof: MemberInfo? = nil
    ) -> RoomLogEntry {
        RoomLogEntry(room: room, seq: log.length, previous: log.head, kind: kind, author: MemberID(author), action: action, proof: proof)
            .signed(by: author)
    }

    func epoch(_ log: RoomLog, _ number: UInt64, by author: SigningKeyPair, mode: RoomMode = .open, proof: MemberInfo? = nil) throws -> RoomLogEntry {
        let key = try EpochKey.generate(room: room, epoch: number)
        let members = log.length == 0 ? [MemberID(author)] : Array(log.members)
        return RoomLogEntry(
            room: room, seq: log.length, previous: log.head, kind: .epoch, author: MemberID(author), epoch: number,
            commitment: key.commitment, reason: "first", mode: mode, members: members, excluded: Array(log.excluded), proof: proof
        ).signed(by: author)
    }

    /// An open room: Alice starts it, Bob joins.
    func openLog() throws -> RoomLog {
        var log = RoomLog(room: room, organisation: organisation.publicKey)
        try log.append(try epoch(log, 0, by: fixtures.alice))
        try log.append(entry(log, .join, by: fixtures.bob))
        return log
    }

    @Test func membersComeOnlyFromSignedEntries() throws {
        let log = try openLog()
        #expect(log.members == [MemberID(fixtures.alice), MemberID(fixtures.bob)])
        #expect(log.length == 2)
        #expect(log.currentEpoch?.epoch == 0)
        #expect(log.head(atLength: 1) != nil && log.head(atLength: 2) == log.head)
    }

    @Test func forgedJoinSignedByAnotherKeyIsRefused() throws {
        var log = try openLog()
        var ghost = entry(log, .join, by: fixtures.mallory)
        ghost.author = MemberID(try SigningKeyPair.generate())
        #expect(throws: RoomLogError.invalid(.signatureInvalid(what: "room log entry"))) { try log.append(ghost) }
        #expect(log.length == 2)
    }

    @Test func brokenChainAndWrongPositionAreConflicts() throws {
        var log = try openLog()
        var stale = entry(log, .join, by: fixtures.mallory)
        stale.previous = WireBytes(RoomLogEntry.genesisPrevious)
        stale = stale.signed(by: fixtures.mallory)
        #expect(throws: RoomLogError.brokenChain(seq: 2)) { try log.append(stale) }
        var skipped = entry(log, .join, by: fixtures.mallory)
        skipped.seq = 5
        #expect(throws: RoomLogError.outOfOrder(expected: 2, actual: 5)) { try log.append(skipped.signed(by: fixtures.mallory)) }
        #expect(RoomLogError.brokenChain(seq: 2).code == "log_conflict")
    }

    @Test func aSecondEntryForTheSameEpochIsRefused() throws {
        var log = try openLog()
        let again = try epoch(log, 0, by: fixtures.bob)
        #expect(throws: RoomLogError.epochNotNew(last: 0, actual: 0)) { try log.append(again) }
        try log.append(try epoch(log, 1, by: fixtures.bob))
        #expect(log.currentEpoch?.author == MemberID(fixtures.bob))
    }

    @Test func anEpochEntryMustNameTheMemberSetTheLogGives() throws {
        var log = try openLog()
        let key = try EpochKey.generate(room: room, epoch: 1)
        let withGhost = RoomLogEntry(
            room: room, seq: log.length, previous: log.head, kind: .epoch, author: MemberID(fixtures.alice), epoch: 1,
            commitment: key.commitment, reason: "removal", mode: .open,
            members: [MemberID(fixtures.alice), MemberID(fixtures.bob), MemberID(fixtures.mallory)], excluded: []
        ).signed(by: fixtures.alice)
        #expect(throws: RoomLogError.memberSetMismatch) { try log.append(withGhost) }
    }

    @Test func onlyMembersWriteEpochsAndLeave() throws {
        var log = try openLog()
        #expect(throws: RoomLogError.notAMember) { try log.append(try epoch(log, 1, by: fixtures.mallory)) }
        #expect(throws: RoomLogError.notAMember) { try log.append(entry(log, .leave, by: fixtures.mallory)) }
        try log.append(entry(log, .leave, by: fixtures.bob))
        #expect(log.members == [MemberID(fixtures.alice)])
    }

    @Test func aPrivateRoomAdmitsOnlyByAVerifiedStaffSignature() throws {
        let counsellor = try SigningKeyPair.generate()
        let proof = try staffProof(counsellor)
        var log = RoomLog(room: room, organisation: organisation.publicKey)
        #expect(throws: RoomLogError.needsStaff) { try log.append(try epoch(log, 0, by: fixtures.alice, mode: .private)) }
        try log.append(try epoch(log, 0, by: counsellor, mode: .private, proof: proof))
        #expect(throws: RoomLogError.needsStaff) { try log.append(entry(log, .join, by: fixtures.alice)) }

        // A member's own self-made "admission" does not verify; a counsellor's does.
        let selfMade = ModerationAction.sign(.admit, room: room, target: MemberID(fixtures.alice), issuedAt: 1, by: fixtures.alice)
        #expect(throws: RoomLogError.notAuthorised("its moderator is not verified staff")) {
            try log.append(entry(log, .admit, by: fixtures.alice, action: selfMade, proof: MemberInfo(member: MemberID(fixtures.alice), displayName: "x")))
        }
        let otherOrganisation = try SigningKeyPair.generate()
        let (invite, seed) = try InviteCertificate.issue(role: .counsellor, expiresAt: 4_000_000_000, staffUntil: 4_000_000_000, organisation: otherOrganisation)
        let foreign = MemberInfo(
            member: MemberID(fixtures.mallory), displayName: "x", staff: try StaffCertificate.redeem(invite, seed: seed, member: MemberID(fixtures.mallory)))
        let foreignAdmit = ModerationAction.sign(.admit, room: room, target: MemberID(fixtures.alice), issuedAt: 1, by: fixtures.mallory)
        #expect(throws: RoomLogError.notAuthorised("its moderator is not verified staff")) {
            try log.append(entry(log, .admit, by: fixtures.alice, action: foreignAdmit, proof: foreign))
        }
        let admit = ModerationAction.sign(.admit, room: room, target: MemberID(fixtures.alice), issuedAt: 1, by: counsellor)
        try log.append(entry(log, .admit, by: fixtures.alice, action: admit, proof: proof))
        #expect(log.members.contains(MemberID(fixtures.alice)))
        #expect(throws: RoomLogError.duplicateAction) { try log.append(entry(log, .admit, by: counsellor, action: admit, proof: proof)) }
    }

    @Test func aRemovalKeepsTheMemberOutUntilLifted() throws {
        let moderator = try SigningKeyPair.generate()
        let proof = try staffProof(moderator, role: .moderator)
        var log = try openLog()
        let remove = ModerationAction.sign(.remove, room: room, target: MemberID(fixtures.bob), issuedAt: 1, by: moderator)
        let change = try log.append(entry(log, .remove, by: fixtures.alice, action: remove, proof: proof))
        #expect(change == .removed(MemberID(fixtures.bob)))
        #expect(throws: RoomLogError.excluded) { try log.append(entry(log, .join, by: fixtures.bob)) }
        let anonymous = ModerationAction.sign(.lift, lifts: remove.id, issuedAt: 2, by: moderator)
        #expect(throws: RoomLogError.self, "a lift in the log names its target") {
            try log.append(entry(log, .lift, by: fixtures.alice, action: anonymous, proof: proof))
        }
        let lift = ModerationAction.sign(.lift, target: MemberID(fixtures.bob), lifts: remove.id, issuedAt: 2, by: moderator)
        #expect(try log.append(entry(log, .lift, by: fixtures.alice, action: lift, proof: proof)) == .lifted(MemberID(fixtures.bob)))
        try log.append(entry(log, .join, by: fixtures.bob))
        #expect(log.members.contains(MemberID(fixtures.bob)))
    }

    @Test func aCheckpointStartsALogWithoutItsHistory() throws {
        var log = try openLog()
        let checkpoint = try epoch(log, 1, by: fixtures.bob)
        try log.append(checkpoint)
        let join = entry(log, .join, by: fixtures.mallory)
        try log.append(join)
        var partial = try RoomLog(room: room, organisation: organisation.publicKey, checkpoint: checkpoint)
        try partial.append(join)
        #expect(partial.members == log.members && partial.head == log.head && partial.length == log.length)
        #expect(partial.head(atLength: 1) == nil, "what came before the checkpoint is not known")
        #expect(throws: RoomLogError.mustStartWithEpoch) {
            _ = try RoomLog(room: room, organisation: organisation.publicKey, checkpoint: join)
        }
    }
}
