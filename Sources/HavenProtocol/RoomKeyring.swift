public import Sodium

/// One member's view of one room: the verified ``RoomLog``, the epoch keys (each checked against
/// its signed commitment and never replaced), who has been given each key, every sender's
/// counter, and what looked wrong. The rules every client follows, as a pure state machine with
/// no I/O: the Swift client, the widget (`room-keyring.js`) and the PyNaCl reference implement
/// the same one and are checked against the same vectors.
public struct RoomKeyring: Sendable {
    /// The verified log.
    public private(set) var log: RoomLog
    /// Whose keyring this is.
    public let member: MemberID
    /// Their identity: it opens bundles and signs entries and messages.
    private let identity: SigningKeyPair
    private var keys: [UInt64: EpochKey] = [:]
    /// Who is known to hold each epoch's key: members sealed it by the epoch's author or by this
    /// member, and members who sent a message under it (the member who started an epoch seals
    /// it to themselves like to anyone else).
    public private(set) var holders: [UInt64: Set<MemberID>] = [:]
    /// Who may post under each epoch: its members, and members who joined while it was current.
    private var entitled: [UInt64: Set<MemberID>] = [:]
    private var waitingEntries: [UInt64: RoomLogEntry] = [:]
    private var waitingBundles: [EpochKeyBundle] = []
    private var proposal: EpochKey?
    private var lastCounters: [MemberID: UInt64] = [:]
    private var seen: Set<SeenMessage> = []
    private var sentCounter: UInt64 = 0
    private var assignedCounters: [MessageID: UInt64] = [:]
    /// Each sender's latest log view that is longer than this member's log, to compare once it is.
    private var waitingHeads: [MemberID: (length: UInt64, head: [UInt8])] = [:]
    /// A view further ahead than this is not believed (no honest member is that far ahead; a
    /// member claiming it would otherwise stop everyone sending).
    public static let maxViewAhead: UInt64 = 1_000

    private struct SeenMessage: Hashable {
        let sender: MemberID
        let id: MessageID
    }

    /// An empty keyring for the member with `identity` in `room`.
    public init(room: RoomID, identity: SigningKeyPair, organisation: SigningPublicKey?) {
        log = RoomLog(room: room, organisation: organisation)
        self.identity = identity
        member = MemberID(identity.publicKey)
    }

    /// The room.
    public var room: RoomID { log.room }

    // MARK: The log

    /// What receiving log entries changed, and what looked wrong.
    public struct LogReceipt: Sendable, Equatable {
        /// The changes, in log order.
        public var changes: [RoomLogChange] = []
        /// What looked wrong.
        public var warnings: [RoomWarning] = []
    }

    /// Takes an entry from the server: appends it if it is the next one (and then any held
    /// entries that follow), holds it if it is ahead, and ignores a copy of an entry already
    /// verified. An entry that does not verify, or contradicts a verified one, is a warning.
    /// An empty keyring starts from the first `epoch` entry it is given (a checkpoint).
    public mutating func receive(_ entry: RoomLogEntry) -> LogReceipt {
        var receipt = LogReceipt()
        if log.length == 0, entry.seq > 0 {
            guard entry.kind == .epoch else {
                waitingEntries[entry.seq] = entry
                return receipt
            }
            do {
                log = try RoomLog(room: room, organisation: log.organisation, checkpoint: entry)
            } catch {
                receipt.warnings.append(.entryRefused(seq: entry.seq, error))
                return receipt
            }
            if let record = log.currentEpoch { receipt.changes.append(.epochStarted(record)) }
            established(entry, into: &receipt)
            waitingEntries = waitingEntries.filter { $0.key > entry.seq }
        } else if entry.seq < log.length {
            if let known = log.head(atLength: entry.seq + 1), known != entry.hash {
                receipt.warnings.append(.entryRefused(seq: entry.seq, .brokenChain(seq: entry.seq)))
            }
            return receipt
        } else if entry.seq > log.length {
            waitingEntries[entry.seq] = entry
            return receipt
        } else {
            append(entry, into: &receipt)
        }
        while let next = waitingEntries.removeValue(forKey: log.length) { append(next, into: &receipt) }
        return receipt
    }

    private mutating func append(_ entry: RoomLogEntry, into receipt: inout LogReceipt) {
        do {
            let change = try log.append(entry)
            receipt.changes.append(change)
            if case .joined(let joined) = change, let current = log.currentEpoch { entitled[current.epoch, default: []].insert(joined) }
            if case .epochStarted = change { established(entry, into: &receipt) }
        } catch {
            receipt.warnings.append(.entryRefused(seq: entry.seq, error))
        }
    }

    /// A new epoch: who may post under it, our own proposal's key if it won, and held bundles
    /// and head checks that can now be settled.
    private mutating func established(_ entry: RoomLogEntry, into receipt: inout LogReceipt) {
        guard let record = log.currentEpoch else { return }
        entitled[record.epoch] = record.members
        if let proposal, proposal.epoch <= record.epoch {
            if record.author == member, proposal.epoch == record.epoch, proposal.commitment == record.commitment {
                keys[record.epoch] = proposal
            }
            self.proposal = nil
        }
        let bundles = waitingBundles
        waitingBundles = []
        for bundle in bundles {
            if case .refused(let warning?) = receive(bundle) { receipt.warnings.append(warning) }
        }
        receipt.warnings += settleHeads()
    }

    // MARK: Epoch keys

    /// What became of a key bundle.
    public enum BundleReceipt: Sendable {
        /// A key for this member, opened and checked against its epoch's commitment.
        case stored(EpochKey)
        /// Noted who holds the key (a bundle for someone else, or a key this member already had).
        case noted
        /// Held until its epoch's entry arrives.
        case held
        /// Refused: not signed by its sealer, for another room, or (warning) not the epoch's key.
        case refused(RoomWarning?)
    }

    /// Takes a key bundle. For a logged epoch the opened key must match the epoch's commitment
    /// and an established key is never replaced; bundles for epochs from before the room had a
    /// log are taken as they come (first one kept) so that history stays readable.
    public mutating func receive(_ bundle: EpochKeyBundle) -> BundleReceipt {
        guard bundle.room == room, (try? bundle.verifySignature()) != nil else { return .refused(nil) }
        guard let record = log.epochs[bundle.epoch] else {
            guard let firstLogged = log.epochs.keys.min(), bundle.epoch <= log.currentEpoch?.epoch ?? 0 else {
                waitingBundles.append(bundle)
                return .held
            }
            // Keys from before the log are taken only by a member who verified the log from its
            // first entry: after a checkpoint, "before the log" is whatever the server says it is.
            guard log.start == 0, bundle.epoch < firstLogged, bundle.recipient == member, keys[bundle.epoch] == nil,
                  let key = try? bundle.open(with: identity)
            else { return .noted }
            keys[bundle.epoch] = key
            return .stored(key)
        }
        guard bundle.recipient == member else {
            // Only the epoch's author is taken at their word that a bundle holds the right key
            // (it wrote the commitment): a bundle from anyone else may hold a wrong key, so other
            // holders still seal the right one to that member.
            if bundle.sealer == record.author { holders[record.epoch, default: []].insert(bundle.recipient) }
            return .noted
        }
        if keys[record.epoch] != nil {
            holders[record.epoch, default: []].insert(member)
            return .noted
        }
        guard let key = try? bundle.open(with: identity) else { return .refused(nil) }
        guard key.commitment == record.commitment else { return .refused(.keyMismatch(sealer: bundle.sealer, epoch: record.epoch)) }
        keys[record.epoch] = key
        holders[record.epoch, default: []].insert(member)
        return .stored(key)
    }

    /// The key of `epoch`, if this member has it.
    public func key(for epoch: UInt64) -> EpochKey? { keys[epoch] }

    /// The current epoch's key, if this member has it.
    public var currentKey: EpochKey? { log.currentEpoch.flatMap { keys[$0.epoch] } }

    /// Someone given the current key is no longer a member (they left, or were removed or
    /// banned): nothing more may be sent under it, and the next sender starts a new epoch.
    public var mustRotate: Bool { log.mustRotate }

    /// Another member's message named a longer log than this member has, or a key arrived for an
    /// epoch this member's log does not have yet: entries are missing (the server may be holding
    /// back a removal). Nothing is sent until they arrive.
    public var isBehind: Bool {
        guard let current = log.currentEpoch?.epoch else { return false }
        return !waitingHeads.isEmpty || waitingBundles.contains { $0.epoch > current }
    }

    /// Members of the room who have not been given the current key (this member included, when
    /// its own bundle is still to be stored). Empty unless this member holds the key.
    public var membersWithoutKey: [MemberID] {
        guard let current = log.currentEpoch, keys[current.epoch] != nil else { return [] }
        return RoomLogEntry.sorted(Array(log.members.subtracting(holders[current.epoch] ?? [])))
    }

    /// Records that this member sealed the current key to `recipient`, so it is not sealed twice.
    public mutating func sealed(to recipient: MemberID, epoch: UInt64) {
        holders[epoch, default: []].insert(recipient)
    }

    // MARK: Writing entries

    /// The next entry, signed by this member, at the log's head.
    public func entry(_ kind: RoomLogKind, action: ModerationAction? = nil, proof: MemberInfo? = nil) -> RoomLogEntry {
        RoomLogEntry(room: room, seq: log.length, previous: log.head, kind: kind, author: member, action: action, proof: proof)
            .signed(by: identity)
    }

    /// Proposes epoch `epoch` (at least one more than the log's current): draws its key and
    /// returns the signed `epoch` entry. The key is kept once the log shows this entry; a
    /// different entry for the epoch drops it. `mode` matters only for a log's first entry.
    public mutating func proposeEpoch(
        _ epoch: UInt64, reason: String, mode: RoomMode, proof: MemberInfo? = nil
    ) throws -> RoomLogEntry {
        let number = max(epoch, log.currentEpoch.map { $0.epoch + 1 } ?? 0)
        let key = try EpochKey.generate(room: room, epoch: number)
        proposal = key
        let members = log.length == 0 ? [member] : Array(log.members)
        return RoomLogEntry(
            room: room, seq: log.length, previous: log.head, kind: .epoch, author: member, epoch: number,
            commitment: key.commitment, reason: reason, mode: log.mode ?? mode, members: members,
            excluded: log.length == 0 ? [] : Array(log.excluded), proof: proof
        ).signed(by: identity)
    }

    /// Forgets a proposal the server refused.
    public mutating func dropProposal() { proposal = nil }

    /// Whether an epoch proposal awaits the log.
    public var isProposing: Bool { proposal != nil }

    // MARK: Messages

    /// Encrypts and signs `body` under the current key, with this member's log view and next
    /// counter (the same counter again for an id sealed before: a resend).
    ///
    /// - Throws: ``ProtocolError/wrongEpoch(expected:actual:)`` when there is no current key or
    ///   the epoch must rotate first.
    public mutating func seal(_ body: MessageBody, id: MessageID = .random()) throws -> RoomEnvelope {
        guard let key = currentKey, !mustRotate, !isBehind else {
            throw ProtocolError.wrongEpoch(expected: (log.currentEpoch?.epoch ?? 0) + 1, actual: log.currentEpoch?.epoch ?? 0)
        }
        // A message sent again (the same id) keeps its counter, so a resend is not a gap.
        let counter = assignedCounters[id] ?? sentCounter + 1
        sentCounter = max(sentCounter, counter)
        assignedCounters[id] = counter
        let envelope = try RoomEnvelope.seal(
            body, key: key, sender: identity, id: id, view: .init(length: log.length, head: log.head, counter: counter))
        seen.insert(SeenMessage(sender: member, id: id))
        lastCounters[member] = sentCounter
        return envelope
    }

    /// What became of a room message.
    public enum MessageReceipt: Sendable {
        /// Opened and checked; show it (with any warnings).
        case opened(OpenedMessage, warnings: [RoomWarning])
        /// Its epoch's key has not arrived yet: keep it and try again.
        case needsKey
        /// Not shown: a replay, a sender not entitled to the epoch, or it did not open.
        case refused(RoomWarning?, ProtocolError?)
    }

    /// Opens a room message: never twice, only from a sender entitled to its epoch, with its
    /// counter and its view of the log checked against this member's.
    public mutating func open(_ envelope: RoomEnvelope) -> MessageReceipt {
        let id = SeenMessage(sender: envelope.sender, id: envelope.id)
        guard !seen.contains(id) else { return .refused(.replayed(sender: envelope.sender, id: envelope.id), nil) }
        guard let key = keys[envelope.epoch] else { return .needsKey }
        let logged = log.epochs[envelope.epoch] != nil
        if logged, !envelope.isLogged || !entitled[envelope.epoch, default: []].contains(envelope.sender) {
            return .refused(.notEntitled(sender: envelope.sender, epoch: envelope.epoch), nil)
        }
        let opened: OpenedMessage
        do {
            opened = try envelope.open(with: key)
        } catch {
            return .refused(nil, error)
        }
        seen.insert(id)
        // Sending under the key proves holding it.
        if logged { holders[envelope.epoch, default: []].insert(envelope.sender) }
        var warnings: [RoomWarning] = []
        if let counter = envelope.counter, let length = envelope.logLength, let head = envelope.logHead?.bytes {
            if let last = lastCounters[envelope.sender] {
                if counter <= last { warnings.append(.counterRepeated(sender: envelope.sender, counter: counter)) }
                if counter > last + 1 { warnings.append(.messagesWithheld(sender: envelope.sender, missing: counter - last - 1)) }
            }
            lastCounters[envelope.sender] = max(lastCounters[envelope.sender] ?? 0, counter)
            if length <= log.length + Self.maxViewAhead {
                // A sender's newer message replaces what their older one claimed.
                waitingHeads[envelope.sender] = (length, head)
                warnings += settleHeads()
                if length > log.length { warnings.append(.behind(sender: envelope.sender, length: length)) }
            }
        }
        return .opened(opened, warnings: warnings)
    }

    /// Compares the log views other members signed with this member's log, once it is long enough.
    private mutating func settleHeads() -> [RoomWarning] {
        var warnings: [RoomWarning] = []
        for (sender, view) in waitingHeads where view.length <= log.length {
            waitingHeads[sender] = nil
            if let mine = log.head(atLength: view.length), mine != view.head {
                warnings.append(.forked(sender: sender, length: view.length))
            }
        }
        return warnings
    }
}
