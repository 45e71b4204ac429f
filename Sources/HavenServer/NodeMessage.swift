import HavenProtocol
import Sodium

/// What one node tells the others through Redis: a delivery it committed, with where it sits in
/// its stream, so a node that missed one (pub/sub is at most once) sees the gap and reads the
/// stream from the store instead.
///
/// On the wire: version (1), kind (1), node (16), cursor (8), previous (8), the stream's key
/// (length 2 + bytes), then the delivery frame as members receive it.
struct NodeMessage: Equatable, Sendable {
    enum Kind: UInt8, Sendable, CaseIterable {
        /// A private message to the member the key names.
        case direct = 1
        /// A message in the room the key names.
        case roomMessage = 2
        /// An entry of the room's log (the frame is the entry as stored).
        case logEntry = 3
        /// A key bundle of the room (the frame is the bundle as stored).
        case keyBundle = 4
        /// A member came into the room on the sending node (the frame is their member info).
        case arrived = 5
        /// A member's last connection in the room on the sending node left it.
        case departed = 6
        /// Who is in the room on the sending node (the frame is their member infos): sent every
        /// few seconds, so a node that died is forgotten, and when asked.
        case present = 7
        /// A node that started following the room asks the others who is there.
        case whoIsThere = 8
        /// The sending node is alive (every few seconds, on the nodes' common channel).
        case alive = 9
        /// A ring for the member the key names (a ``RelayedRing``).
        case callRing = 10
        /// A call step for the member the key names (a ``RelayedCallSignal``).
        case callSignal = 11
        /// The callee's node refused a ring from the member the key names (a ``RelayedRefusal``).
        case callRefused = 12
        /// A call of the member the key names ended on the other party's node (a ``RelayedCallEnd``).
        case callEnded = 13
        /// The sending node's waiting line, counsellors online and members per room (a
        /// ``NodeSummary``), on the nodes' common channel: when they change, and every few seconds.
        case line = 14
        /// A counsellor elsewhere takes a member waiting through the node the key names (a ``RelayedTake``).
        case take = 15
        /// The member's node gave the counsellor the key names the member (a `QueueTaken`).
        case taken = 16
        /// The member was no longer waiting when the counsellor the key names asked (their member id).
        case takeRefused = 17
        /// What the sending node took from identities' budgets in the last second (``BudgetsSpent``).
        case spent = 18
        /// The identity the key names logged in for the first time, through the sending node:
        /// every node holds it to a new identity's limits, and counts it for the proof of work.
        case newIdentity = 19
        /// A moderation action the sending node committed (a ``RelayedModeration``).
        case moderated = 20
        /// A report was made through the sending node (a `ReportEntry`, for staff's live inbox).
        case report = 21
        /// "I'm worried about this person", made through the sending node (a `Concern`, for counsellors).
        case concern = 22
    }

    static let version: UInt8 = 1

    var kind: Kind
    /// The node that committed it.
    var node: [UInt8]
    /// A message's cursor in its stream (0 for what is not a message).
    var cursor: Int64
    /// The stream's newest message cursor before it (0: none): a node that has not seen that one
    /// has missed something.
    var previous: Int64
    /// The room's id, or the recipient's member id.
    var key: [UInt8]
    /// A delivery frame, encoded once by the node that committed it; or what the kind says.
    var frame: [UInt8]

    /// Why bytes from Redis are not a node message this node reads.
    struct Malformed: Error {}

    /// What a channel carries: everything about one room, or one member's private messages.
    enum Stream: Hashable, Sendable {
        case room([UInt8])
        case member([UInt8])
        /// Every node's: who is alive, and the waiting line.
        case nodes
        /// One node's own (requests for it alone).
        case node([UInt8])

        /// Its Redis channel.
        var channel: [UInt8] {
            switch self {
            case .room(let key): Array("haven:room:".utf8) + Array(Base64URL.encode(key).utf8)
            case .member(let key): Array("haven:member:".utf8) + Array(Base64URL.encode(key).utf8)
            case .nodes: Array("haven:nodes".utf8)
            case .node(let key): Array("haven:node:".utf8) + Array(Base64URL.encode(key).utf8)
            }
        }

        /// The stream `channel` carries, or nil for a channel that is not Haven's.
        init?(channel: [UInt8]) {
            let parts = String(decoding: channel, as: UTF8.self).split(separator: ":", maxSplits: 2)
            if parts == ["haven", "nodes"] {
                self = .nodes
                return
            }
            guard parts.count == 3, parts[0] == "haven", let key = try? Base64URL.decode(String(parts[2])) else { return nil }
            switch parts[1] {
            case "room": self = .room(key)
            case "member": self = .member(key)
            case "node": self = .node(key)
            default: return nil
            }
        }
    }

    /// The stream it goes on.
    var stream: Stream {
        switch kind {
        case .direct, .callRing, .callSignal, .callRefused, .callEnded, .taken, .takeRefused: .member(key)
        case .alive, .line, .spent, .newIdentity, .moderated, .report, .concern: .nodes
        case .take: .node(key)
        case .roomMessage, .logEntry, .keyBundle, .arrived, .departed, .present, .whoIsThere: .room(key)
        }
    }

    func encoded() -> [UInt8] {
        var bytes: [UInt8] = [Self.version, kind.rawValue] + node
        for number in [cursor, previous] { bytes += withUnsafeBytes(of: number.bigEndian) { Array($0) } }
        bytes += withUnsafeBytes(of: UInt16(key.count).bigEndian) { Array($0) }
        return bytes + key + frame
    }

    /// Reads `bytes`.
    ///
    /// - Throws: ``Malformed`` for anything else (another version, a cut-off message).
    init(decoding bytes: [UInt8]) throws(Malformed) {
        guard bytes.count >= 36, bytes[0] == Self.version, let kind = Kind(rawValue: bytes[1]) else { throw Malformed() }
        let number = { (offset: Int) in bytes[offset..<offset + 8].reduce(Int64(0)) { $0 << 8 | Int64($1) } }
        let keyLength = Int(bytes[34]) << 8 | Int(bytes[35])
        guard bytes.count >= 36 + keyLength else { throw Malformed() }
        self.init(
            kind: kind, node: Array(bytes[2..<18]), cursor: number(18), previous: number(26), key: Array(bytes[36..<36 + keyLength]),
            frame: Array(bytes[(36 + keyLength)...]))
    }

    init(kind: Kind, node: [UInt8], cursor: Int64, previous: Int64, key: [UInt8], frame: [UInt8]) {
        self.kind = kind
        self.node = node
        self.cursor = cursor
        self.previous = previous
        self.key = key
        self.frame = frame
    }
}
