public import Sodium

/// What a room log entry records.
public enum RoomLogKind: String, Codable, Sendable, CaseIterable {
    /// A member starts epoch `epoch`: its key's commitment and the member set it is sealed to.
    /// A log's first entry is always an `epoch` entry.
    case epoch
    /// The author joins an open room (or, as verified staff, a private one).
    case join
    /// The author leaves.
    case leave
    /// A staff member's signed `admit` action: its target becomes a member of a private room.
    case admit
    /// A moderator's signed `remove` action for this room: its target is out and stays out.
    case remove
    /// A moderator's signed `ban`: its target is out of every room and stays out.
    case ban
    /// A moderator's signed `lift` of a removal or ban: its target may come back.
    case lift
}

/// Whether anyone may join a room's log, or only members staff admit.
public enum RoomMode: String, Codable, Sendable {
    /// Anyone may join (which includes whoever runs the server, under a pseudonym).
    case open
    /// Only verified staff join; members are admitted by a staff member's signed `admit`.
    case `private`
}

/// One signed entry of a room's log: an append-only, hash-chained sequence that every member's
/// client verifies for itself, and from which it alone decides who is in the room and who gets
/// the room key. The server orders, stores and relays entries; without a member's key it cannot
/// write one (docs/crypto.md, "The room log").
public struct RoomLogEntry: Codable, Sendable, Equatable {
    /// The room.
    public var room: RoomID
    /// Its position: 0 for the first entry, then one more than the entry before.
    public var seq: UInt64
    /// ``hash`` of the entry before (32 zero bytes for the first).
    public var previous: WireBytes
    /// What it records.
    public var kind: RoomLogKind
    /// Who wrote and signed it.
    public var author: MemberID
    /// `epoch` entries: the epoch started (greater than every earlier epoch of the log).
    public var epoch: UInt64?
    /// `epoch` entries: ``EpochKey/commitment``, which fixes the epoch's key.
    public var commitment: WireBytes?
    /// `epoch` entries: why the epoch started (`first`, `removal`, `leave`, `schedule`, `no_holder`, ...).
    public var reason: String?
    /// `epoch` entries: the room's mode (fixed by the first entry).
    public var mode: RoomMode?
    /// `epoch` entries: every member after this entry, sorted by key bytes (the key is sealed to them).
    public var members: [MemberID]?
    /// `epoch` entries: every identity kept out by a removal or ban in force, sorted.
    public var excluded: [MemberID]?
    /// `admit`, `remove`, `ban`, `lift`: the moderator's signed action.
    public var action: ModerationAction?
    /// Who vouches: for a moderation entry, the action's moderator; for a `join` of, or the first
    /// `epoch` of, a private room, the author. Verified against the organisation key; not signed
    /// (any valid proof of the same member is equivalent).
    public var proof: MemberInfo?
    /// The author's Ed25519 signature over ``signedBytes``.
    public var signature: WireBytes

    /// Length of an entry hash and of `previous`.
    public static let hashLength = 32
    /// `previous` of a log's first entry.
    public static let genesisPrevious = [UInt8](repeating: 0, count: hashLength)
    /// Longest `reason`, in bytes.
    public static let maxReasonBytes = 32

    /// Creates an unsigned entry (``signed(by:)`` signs it).
    public init(
        room: RoomID, seq: UInt64, previous: [UInt8], kind: RoomLogKind, author: MemberID, epoch: UInt64? = nil,
        commitment: [UInt8]? = nil, reason: String? = nil, mode: RoomMode? = nil, members: [MemberID]? = nil,
        excluded: [MemberID]? = nil, action: ModerationAction? = nil, proof: MemberInfo? = nil
    ) {
        self.room = room
        self.seq = seq
        self.previous = WireBytes(previous)
        self.kind = kind
        self.author = author
        self.epoch = epoch
        self.commitment = commitment.map(WireBytes.init)
        self.reason = reason
        self.mode = mode
        self.members = members.map(RoomLogEntry.sorted)
        self.excluded = excluded.map(RoomLogEntry.sorted)
        self.action = action
        self.proof = proof
        signature = WireBytes([])
    }

    /// Member lists are written sorted by key bytes, so each set has exactly one encoding.
    public static func sorted(_ members: [MemberID]) -> [MemberID] {
        members.sorted { $0.bytes.lexicographicallyPrecedes($1.bytes) }
    }

    /// label, room, seq, previous, kind, author, epoch, commitment, reason, mode, members,
    /// excluded, the action's signed bytes and signature (absent fields as 0 or empty).
    public var signedBytes: [UInt8] {
        var bytes = CanonicalBytes(label: DomainLabel.roomLog)
        bytes.append(room.value)
        bytes.append(seq)
        bytes.append(previous.bytes)
        bytes.append(kind.rawValue)
        bytes.append(author.bytes)
        bytes.append(epoch ?? 0)
        bytes.append(commitment?.bytes ?? [])
        bytes.append(reason ?? "")
        bytes.append(mode?.rawValue ?? "")
        bytes.append((members ?? []).flatMap(\.bytes))
        bytes.append((excluded ?? []).flatMap(\.bytes))
        bytes.append(action?.signedBytes ?? [])
        bytes.append(action?.signature.bytes ?? [])
        return bytes.bytes
    }

    /// BLAKE2b-256 over label, signed bytes and signature: what the next entry names as `previous`.
    public var hash: [UInt8] {
        var bytes = CanonicalBytes(label: DomainLabel.roomLogHash)
        bytes.append(signedBytes)
        bytes.append(signature.bytes)
        // A 32-byte output is always within BLAKE2b's limits.
        return try! GenericHash.hash(bytes.bytes, outputLength: Self.hashLength)
    }

    /// This entry signed by `author` (whose public key must be ``author``).
    public func signed(by author: SigningKeyPair) -> RoomLogEntry {
        var entry = self
        entry.signature = WireBytes(author.sign(signedBytes))
        return entry
    }

    /// Checks lengths, the fields each kind needs (and only those), and the author's signature.
    ///
    /// - Throws: ``ProtocolError`` naming the field, or `signatureInvalid`.
    public func verifySignature() throws(ProtocolError) {
        try validate()
        try author.publicKey.verify(signature.bytes, of: signedBytes, what: "room log entry")
    }

    /// Checks every length and that each kind carries exactly its own fields.
    public func validate() throws(ProtocolError) {
        try ProtocolLimits.checkInteger(seq, field: "entry.seq")
        try previous.require(length: Self.hashLength, field: "entry.previous")
        try signature.require(length: SigningPublicKey.signatureLength, field: "entry.signature")
        let isEpoch = kind == .epoch
        try require(epoch != nil, when: isEpoch, field: "entry.epoch")
        try require(commitment != nil, when: isEpoch, field: "entry.commitment")
        try require(reason != nil, when: isEpoch, field: "entry.reason")
        try require(mode != nil, when: isEpoch, field: "entry.mode")
        try require(members != nil, when: isEpoch, field: "entry.members")
        try require(excluded != nil, when: isEpoch, field: "entry.excluded")
        try require(action != nil, when: [.admit, .remove, .ban, .lift].contains(kind), field: "entry.action")
        try ProtocolLimits.checkInteger(epoch, field: "entry.epoch")
        try commitment?.require(length: EpochKey.commitmentLength, field: "entry.commitment")
        if let reason {
            guard !reason.isEmpty, reason.utf8.count <= Self.maxReasonBytes, reason.utf8.allSatisfy({ (0x61...0x7a).contains($0) || $0 == 0x5f }) else {
                throw .invalidField("entry.reason", reason: "1-\(Self.maxReasonBytes) characters of a-z and _")
            }
        }
        for (list, field) in [(members, "entry.members"), (excluded, "entry.excluded")] {
            guard let list else { continue }
            guard list == Self.sorted(list), Set(list).count == list.count else {
                throw .invalidField(field, reason: "must be sorted by key bytes, without repeats")
            }
        }
    }

    private func require(_ present: Bool, when needed: Bool, field: String) throws(ProtocolError) {
        if needed && !present { throw .missingField(field) }
        if !needed && present { throw .invalidField(field, reason: "not allowed in a \(kind.rawValue) entry") }
    }
}

extension EpochKey {
    /// Length of ``commitment``.
    public static let commitmentLength = 32

    /// The key's commitment: BLAKE2b-256 keyed with the epoch key over
    /// `"haven/v1/epoch-commitment" 0x00 || lp(room) || u64(epoch)`. BLAKE2b is collision
    /// resistant, so no second key opens the same commitment: a signed `epoch` entry fixes the key.
    public var commitment: [UInt8] {
        var input = CanonicalBytes(label: DomainLabel.epochCommitment)
        input.append(room.value)
        input.append(epoch)
        // A 32-byte key and output are always within BLAKE2b's limits.
        return try! GenericHash.hash(input.bytes, key: key, outputLength: Self.commitmentLength)
    }
}
