public import Sodium

/// An epoch as its signed `epoch` entry fixed it.
public struct EpochRecord: Sendable, Equatable {
    /// The epoch number.
    public let epoch: UInt64
    /// The commitment its key must open.
    public let commitment: [UInt8]
    /// Who started it.
    public let author: MemberID
    /// Who its key is for: the members when it started. Members who join later are given it too.
    public let members: Set<MemberID>
    /// The entry's position in the log.
    public let seq: UInt64
}

/// The staff proof a member's place in a private room rests on.
public struct StaffGrounds: Sendable, Equatable {
    /// Their own proof (staff who joined), or the proof of the moderator who admitted them.
    public var proof: MemberInfo
    /// When the admission was signed; nil for staff who joined on their own proof (checked now).
    public var at: UInt64?
}

/// What an accepted entry changed.
public enum RoomLogChange: Sendable, Equatable {
    /// A new epoch began.
    case epochStarted(EpochRecord)
    /// A member joined or was admitted.
    case joined(MemberID)
    /// A member left.
    case left(MemberID)
    /// A member was removed or banned.
    case removed(MemberID)
    /// A removal or ban was lifted.
    case lifted(MemberID)
}

/// A room's verified log: the pure state machine that both the server (before it stores an
/// entry) and every client (before it trusts one) run. It checks the hash chain, each author's
/// signature and right to write the entry, moderation actions against the organisation key, and
/// computes the member set and the epochs. No I/O.
///
/// A log can be verified from its first entry, or from a checkpoint: any `epoch` entry, whose
/// member set is then taken on its author's word (docs/crypto.md, "The room log").
public struct RoomLog: Sendable {
    /// The room.
    public let room: RoomID
    /// The organisation key staff proofs must chain to; without it no staff proof verifies.
    public let organisation: SigningPublicKey?
    /// Position of the first verified entry (0, or the checkpoint's).
    public private(set) var start: UInt64 = 0
    /// The hash of every verified entry from `start` on.
    private var hashes: [[UInt8]] = []
    /// The room's mode, once the first epoch entry set it.
    public private(set) var mode: RoomMode?
    /// Who is in the room now.
    public private(set) var members: Set<MemberID> = []
    /// Who is kept out by a removal or ban in force.
    public private(set) var excluded: Set<MemberID> = []
    /// Who was given the current epoch's key, or may be: its members, and members who joined
    /// while it was current.
    public private(set) var entitled: Set<MemberID> = []
    /// For members of a private room: the staff proof their place rests on (their own, for staff
    /// who joined; the admitting moderator's, with the admission's time), so a client can check it
    /// still holds before sealing them a key (docs/crypto.md, "Staff lifecycle").
    public private(set) var grounds: [MemberID: StaffGrounds] = [:]
    /// Every epoch seen, by number.
    public private(set) var epochs: [UInt64: EpochRecord] = [:]
    /// The latest epoch.
    public private(set) var currentEpoch: EpochRecord?
    private var actionIDs: Set<MessageID> = []

    /// An empty log, verified from its first entry.
    public init(room: RoomID, organisation: SigningPublicKey?) {
        self.room = room
        self.organisation = organisation
    }

    /// A log verified from `checkpoint`, an `epoch` entry whose member set, exclusions and mode
    /// are taken on its author's word (its signature, and that its author is a member, are
    /// checked; in a private room, that its author is verified staff).
    ///
    /// - Throws: ``RoomLogError`` when it is not a valid epoch entry of this room.
    public init(room: RoomID, organisation: SigningPublicKey?, checkpoint: RoomLogEntry) throws(RoomLogError) {
        self.init(room: room, organisation: organisation)
        guard checkpoint.room == room else { throw .wrongRoom }
        guard checkpoint.kind == .epoch else { throw .mustStartWithEpoch }
        do { try checkpoint.verifySignature() } catch { throw .invalid(error) }
        let members = Set(checkpoint.members ?? [])
        guard members.contains(checkpoint.author) else { throw .notAMember }
        // Anyone can sign a checkpoint naming themselves; a private room's must come from staff,
        // so a server cannot open a private room to a key of its own (else verify from the start).
        if checkpoint.mode == .private, staffRole(checkpoint.proof, of: checkpoint.author) == nil { throw .needsStaff }
        start = checkpoint.seq
        mode = checkpoint.mode
        self.members = members
        excluded = Set(checkpoint.excluded ?? [])
        startEpoch(checkpoint)
        hashes = [checkpoint.hash]
    }

    /// A log that starts from a checkpoint the server itself stored, without checking it again
    /// (see ``adopt(_:)``). Never for entries from elsewhere.
    public init(adoptingCheckpoint checkpoint: RoomLogEntry, organisation: SigningPublicKey?) {
        self.init(room: checkpoint.room, organisation: organisation)
        start = checkpoint.seq
        mode = checkpoint.mode
        members = Set(checkpoint.members ?? [])
        excluded = Set(checkpoint.excluded ?? [])
        startEpoch(checkpoint)
        hashes = [checkpoint.hash]
    }

    /// After this many entries since the last `epoch` entry, members start a new epoch, so a
    /// newcomer starting from the latest checkpoint never has far to verify.
    public static let checkpointInterval: UInt64 = 500

    /// The number of entries in the log (the next entry's `seq`).
    public var length: UInt64 { start + UInt64(hashes.count) }

    /// The hash of the last entry (32 zero bytes for an empty log).
    public var head: [UInt8] { hashes.last ?? RoomLogEntry.genesisPrevious }

    /// The head the log had when it was `length` entries long, if this log verified that entry.
    public func head(atLength length: UInt64) -> [UInt8]? {
        if length == 0 { return RoomLogEntry.genesisPrevious }
        guard length > start, length <= self.length else { return nil }
        return hashes[Int(length - start - 1)]
    }

    /// Verifies `entry` as the next one and applies it.
    ///
    /// - Throws: ``RoomLogError``; the log is unchanged.
    @discardableResult
    public mutating func append(_ entry: RoomLogEntry) throws(RoomLogError) -> RoomLogChange {
        let change = try check(entry)
        apply(change, of: entry)
        return change
    }

    /// Takes an entry the server itself stored earlier without checking it again (a changed
    /// organisation key could make an old proof fail): the store is the server's own record, and
    /// its log must stay exactly as long as the store's. Never for entries from elsewhere.
    public mutating func adopt(_ entry: RoomLogEntry) {
        let target = entry.action?.target ?? entry.author
        let change: RoomLogChange = switch entry.kind {
        case .epoch: .epochStarted(record(of: entry))
        case .join, .admit: .joined(entry.kind == .join ? entry.author : target)
        case .leave: .left(entry.author)
        case .remove, .ban: .removed(target)
        case .lift: .lifted(target)
        }
        apply(change, of: entry)
    }

    private mutating func apply(_ change: RoomLogChange, of entry: RoomLogEntry) {
        switch change {
        case .epochStarted:
            if length == 0 {
                members = [entry.author]
                if entry.mode == .private, let proof = entry.proof { grounds[entry.author] = StaffGrounds(proof: proof, at: nil) }
            }
            mode = entry.mode
            startEpoch(entry)
        case .joined(let member):
            members.insert(member)
            entitled.insert(member)
            if mode == .private, let proof = entry.proof { grounds[member] = StaffGrounds(proof: proof, at: entry.action?.issuedAt) }
        case .left(let member):
            members.remove(member)
            grounds[member] = nil
        case .removed(let member):
            members.remove(member)
            grounds[member] = nil
            excluded.insert(member)
        case .lifted(let member):
            excluded.remove(member)
        }
        if let action = entry.action { actionIDs.insert(action.id) }
        hashes.append(entry.hash)
    }

    /// What `entry` would change if appended, without appending it.
    ///
    /// - Throws: ``RoomLogError``.
    public func check(_ entry: RoomLogEntry) throws(RoomLogError) -> RoomLogChange {
        guard entry.room == room else { throw .wrongRoom }
        guard entry.seq == length else { throw .outOfOrder(expected: length, actual: entry.seq) }
        guard entry.previous.bytes == head else { throw .brokenChain(seq: entry.seq) }
        do { try entry.verifySignature() } catch { throw .invalid(error) }
        guard length > 0 else { return try checkFirst(entry) }
        if let action = entry.action, actionIDs.contains(action.id) { throw .duplicateAction }
        let author = entry.author
        switch entry.kind {
        case .epoch:
            guard members.contains(author) else { throw .notAMember }
            let last = currentEpoch?.epoch ?? 0
            guard let epoch = entry.epoch, currentEpoch == nil || epoch > last else { throw .epochNotNew(last: last, actual: entry.epoch ?? 0) }
            guard entry.mode == mode else { throw .modeChanged }
            guard Set(entry.members ?? []) == members, Set(entry.excluded ?? []) == excluded else { throw .memberSetMismatch }
            return .epochStarted(record(of: entry))
        case .join:
            guard !members.contains(author) else { throw .alreadyAMember }
            guard !excluded.contains(author) else { throw .excluded }
            if mode == .private, staffRole(entry.proof, of: author) == nil { throw .needsStaff }
            return .joined(author)
        case .leave:
            guard members.contains(author) else { throw .notAMember }
            return .left(author)
        case .admit:
            let target = try checkAction(entry, staffOnly: true)
            guard mode == .private else { throw .notAuthorised("an open room admits without staff") }
            guard entry.action?.room == room else { throw .notAuthorised("the action is for another room") }
            guard members.contains(author) || author == target else { throw .notAMember }
            guard !members.contains(target) else { throw .alreadyAMember }
            guard !excluded.contains(target) else { throw .excluded }
            return .joined(target)
        case .remove, .ban:
            let target = try checkAction(entry, staffOnly: false)
            if entry.kind == .remove, entry.action?.room != room { throw .notAuthorised("the action is for another room") }
            guard members.contains(author) else { throw .notAMember }
            return .removed(target)
        case .lift:
            _ = try checkAction(entry, staffOnly: false)
            guard members.contains(author) else { throw .notAMember }
            // A lift names its target, so a member who started from a checkpoint (and never saw
            // the removal's entry) can apply it too.
            guard let target = entry.action?.target, excluded.contains(target) else {
                throw .notAuthorised("it lifts no removal or ban in force here of the member it names")
            }
            guard target != entry.action?.moderator else { throw .notAuthorised("a moderator cannot lift their own removal") }
            return .lifted(target)
        }
    }

    private func checkFirst(_ entry: RoomLogEntry) throws(RoomLogError) -> RoomLogChange {
        guard entry.kind == .epoch else { throw .mustStartWithEpoch }
        guard entry.members == [entry.author], entry.excluded == [] else { throw .memberSetMismatch }
        if entry.mode == .private, staffRole(entry.proof, of: entry.author) == nil { throw .needsStaff }
        return .epochStarted(record(of: entry))
    }

    /// Checks a moderation entry's action and its moderator's proof; returns the action's target.
    private func checkAction(_ entry: RoomLogEntry, staffOnly: Bool) throws(RoomLogError) -> MemberID {
        guard let action = entry.action, action.kind.rawValue == entry.kind.rawValue else {
            throw .notAuthorised("the action is not a \(entry.kind.rawValue)")
        }
        do { try action.verify() } catch { throw .notAuthorised("the action's signature does not verify") }
        let role = staffOnly ? staffRole(entry.proof, of: action.moderator) : moderatorRole(entry.proof, of: action.moderator)
        guard role != nil else { throw .notAuthorised("its moderator is not verified staff") }
        guard let target = action.target else { throw .notAuthorised("the action names no member") }
        return target
    }

    /// The role `member`'s own staff certificate gives, if `proof` carries one that verifies.
    private func staffRole(_ proof: MemberInfo?, of member: MemberID) -> StaffRole? {
        guard let organisation, let proof, proof.member == member, let staff = proof.staff, staff.member == member else { return nil }
        return try? staff.verify(organisation: organisation)
    }

    /// The role of staff, or of a moderator appointed by a verified counsellor.
    private func moderatorRole(_ proof: MemberInfo?, of member: MemberID) -> StaffRole? {
        guard let organisation, let proof, proof.member == member else { return nil }
        return proof.verifiedRole(organisation: organisation)
    }

    private func record(of entry: RoomLogEntry) -> EpochRecord {
        EpochRecord(
            epoch: entry.epoch ?? 0, commitment: entry.commitment?.bytes ?? [], author: entry.author,
            members: Set(entry.members ?? []), seq: entry.seq)
    }

    /// Someone given the current key is no longer a member: the room needs a new epoch.
    public var mustRotate: Bool { !entitled.isSubset(of: members) }

    /// Entries since the current epoch began.
    public var entriesSinceEpoch: UInt64 { length - (currentEpoch?.seq ?? 0) }

    private mutating func startEpoch(_ entry: RoomLogEntry) {
        let record = record(of: entry)
        entitled = record.members.isEmpty ? [entry.author] : record.members
        epochs[record.epoch] = record
        currentEpoch = record
    }
}
