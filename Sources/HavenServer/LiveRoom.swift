import HavenNet
import HavenProtocol
import HavenStore
import Sodium

/// A room as loaded from the store.
struct LoadedRoom: Sendable {
    let id: RoomID
    let name: String
    let kind: String
    let epoch: UInt64
    let keyHolders: [MemberID]
    let retentionSeconds: UInt64?
    /// The log from its latest checkpoint (its last `epoch` entry) on, as stored.
    let log: [[UInt8]]
    /// Members the current epoch's author sealed its key to.
    let sealedByAuthor: [MemberID]

    /// Every unarchived room with its current key holders and effective retention, and the log
    /// tail of the rooms `withLog` picks (the others' logs are empty here: a room already live
    /// keeps its own).
    static func loadAll(from database: StoreDatabase, withLog: (RoomID) -> Bool = { _ in true }) throws -> [LoadedRoom] {
        let policy = try database.retentionPolicy()
        return try database.rooms().filter { !$0.isArchived }.compactMap { record in
            guard let id = try? RoomID(record.id) else { return nil }
            let holders = try database.keyHolders(room: record.id, epoch: record.currentEpoch).compactMap { try? MemberID(bytes: $0) }
            let log = withLog(id) ? try database.roomLog(room: record.id, from: database.roomLogCheckpoint(room: record.id) ?? 0, limit: Int.max) : []
            let author = log.first.flatMap { try? FrameCodec.decodeValue(RoomLogEntry.self, from: $0) }.map(\.author)
            let sealed = try author.map { try database.keyRecipients(room: record.id, epoch: record.currentEpoch, sealer: $0.bytes) } ?? []
            return LoadedRoom(
                id: id, name: record.name, kind: record.kind, epoch: UInt64(record.currentEpoch), keyHolders: holders,
                retentionSeconds: record.retentionSeconds(under: policy).map { UInt64(max(0, $0)) },
                log: log, sealedByAuthor: sealed.compactMap { try? MemberID(bytes: $0) })
        }
    }
}

/// A room's live state: who is connected to it, who holds its current epoch key, and its
/// verified log (the server checks every entry with the same rules as the clients before it
/// stores one).
final class LiveRoom {
    let id: RoomID
    var name: String
    var kind: String
    var epoch: UInt64
    /// Who holds the current epoch's key.
    var keyHolders: EpochKeyHolders
    var retentionSeconds: UInt64?
    var log: RoomLog
    /// The connections in the room, to send to.
    private(set) var sessions: [Int: Session] = [:]
    /// Who is in the room, and when the room is told of comings and goings.
    private var presence = RoomPresence()
    /// When the current epoch began (loop milliseconds; 0 for one from before this start).
    var epochStartedAt: UInt64 = 0
    /// Members the current epoch's author sealed its key to: the bundles that carry the key the
    /// epoch committed to (anyone else's may carry a wrong one).
    var sealedByAuthor: Set<MemberID> = []
    /// The log's epoch when the server last moved this private room on because someone whose
    /// staff grounds lapsed held its key (so it asks once per epoch).
    var rotatedAwayFromLapsedStaffAt: UInt64?
    /// With other nodes: who is in the room on each of them, as each last said.
    var elsewhere = PresenceElsewhere()

    init(_ loaded: LoadedRoom, organisation: SigningPublicKey?) {
        id = loaded.id
        name = loaded.name
        kind = loaded.kind
        epoch = loaded.epoch
        keyHolders = EpochKeyHolders(loaded.keyHolders)
        retentionSeconds = loaded.retentionSeconds
        log = Self.restore(loaded, organisation: organisation)
        sealedByAuthor = Set(loaded.sealedByAuthor)
    }

    /// The stored log tail, verified again. An entry that no longer verifies (a changed
    /// organisation key could cause it) is logged and adopted as stored, so the log in memory is
    /// always exactly as long as the store's and new entries find their place.
    private static func restore(_ loaded: LoadedRoom, organisation: SigningPublicKey?) -> RoomLog {
        let entries = loaded.log.compactMap { try? FrameCodec.decodeValue(RoomLogEntry.self, from: $0) }
        var log = RoomLog(room: loaded.id, organisation: organisation)
        if let first = entries.first, first.seq > 0 {
            do {
                log = try RoomLog(room: loaded.id, organisation: organisation, checkpoint: first)
            } catch {
                ServerLog.warning("room \(loaded.id): its stored checkpoint does not verify (\(error)); it is taken as stored")
                log = RoomLog(adoptingCheckpoint: first, organisation: organisation)
            }
        }
        for entry in entries where entry.seq >= log.length {
            do {
                try log.append(entry)
            } catch {
                ServerLog.warning("room \(loaded.id): stored log entry \(entry.seq) does not verify (\(error)); it is taken as stored")
                log.adopt(entry)
            }
        }
        return log
    }

    /// Takes the operator's changes (name, kind, retention) from a fresh load.
    func update(from loaded: LoadedRoom) {
        name = loaded.name
        kind = loaded.kind
        retentionSeconds = loaded.retentionSeconds
    }

    /// The mode a new log of this room starts with.
    var mode: RoomMode { kind == "support" ? .open : .private }

    /// Whether the current epoch has a key: a logged `epoch` entry, or a key holder from before
    /// the room had a log.
    var isEpochEstablished: Bool { log.currentEpoch?.epoch == epoch || !keyHolders.isEmpty }

    /// The distinct members online, in a stable order, as their first connection here shows
    /// them; then those only on other nodes.
    var onlineMembers: [MemberInfo] {
        let here = presence.online.compactMap { sessions[$0.connection]?.member }
        return here + elsewhere.members.filter { !presence.isOnline($0.member) }
    }

    /// Whether `member` has a connection in the room, here or on another node.
    func isOnline(_ member: MemberID) -> Bool {
        presence.isOnline(member) || elsewhere.contains(member)
    }

    /// Whether `member` has a connection in the room on this node.
    func isHere(_ member: MemberID) -> Bool {
        presence.isOnline(member)
    }

    /// Takes a log entry the server checked (here, or on another node): the log grows, members
    /// it dropped lose the key, and an epoch entry starts a new epoch nobody holds yet. Returns
    /// the members it dropped.
    ///
    /// - Throws: ``RoomLogError`` when the entry does not follow the log.
    func take(_ entry: RoomLogEntry, now: UInt64) throws(RoomLogError) -> Set<MemberID> {
        let membersBefore = log.members
        try log.append(entry)
        let departed = membersBefore.subtracting(log.members)
        keyHolders.remove(departed)
        if let epoch = entry.epoch {
            self.epoch = epoch
            keyHolders.clear()
            sealedByAuthor = []
            epochStartedAt = now
        }
        return departed
    }

    /// Takes a key bundle the store kept: its recipient holds the key.
    func take(_ bundle: EpochKeyBundle) {
        keyHolders.add(bundle.recipient)
        if bundle.epoch == log.currentEpoch?.epoch, bundle.sealer == log.currentEpoch?.author {
            sealedByAuthor.insert(bundle.recipient)
        }
    }

    /// Takes the room's state again from a fresh load (after a write that failed, or what
    /// another node changed while this one did not follow the room).
    func reload(from loaded: LoadedRoom, organisation: SigningPublicKey?) {
        log = Self.restore(loaded, organisation: organisation)
        epoch = loaded.epoch
        keyHolders = EpochKeyHolders(loaded.keyHolders)
        sealedByAuthor = Set(loaded.sealedByAuthor)
    }

    /// Puts `session` (of `member`) in the room; true when it is the member's first connection
    /// here, so the others are to be told.
    func enter(_ session: Session, as member: MemberID) -> Bool {
        sessions[session.connection.id] = session
        return presence.arrive(connection: session.connection.id, member: member)
    }

    /// Takes `connection` out of the room; the member who left with it (their last connection
    /// here), or nil.
    func exit(connection: Int) -> MemberID? {
        sessions[connection] = nil
        return presence.leave(connection: connection)
    }
}
