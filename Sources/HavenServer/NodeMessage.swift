import HavenProtocol
import Sodium

/// What one node tells the others through Redis: a delivery it committed, with where it sits in
/// its stream, so a node that missed one (pub/sub is at most once) sees the gap and reads the
/// stream from the store instead.
///
/// On the wire: version (1), kind (1), node (16), cursor (8), previous (8), the stream's key
/// (length 2 + bytes), then the delivery frame as members receive it.
struct NodeMessage: Equatable, Sendable {
    enum Kind: UInt8, Sendable {
        /// A private message to the member the key names.
        case direct = 1
    }

    static let version: UInt8 = 1

    var kind: Kind
    /// The node that committed it.
    var node: [UInt8]
    /// Its cursor in its stream.
    var cursor: Int64
    /// The stream's newest cursor before it (0: none): a node that has not seen that one has
    /// missed something.
    var previous: Int64
    /// The stream: the recipient's member id.
    var key: [UInt8]
    /// The delivery frame, encoded once by the node that committed it.
    var frame: [UInt8]

    /// Why bytes from Redis are not a node message this node reads.
    struct Malformed: Error {}

    /// The Redis channel of a stream.
    static func channel(_ kind: Kind, key: [UInt8]) -> [UInt8] {
        Array("haven:\(kind.rawValue):".utf8) + Array(Base64URL.encode(key).utf8)
    }

    var channel: [UInt8] { Self.channel(kind, key: key) }

    /// The stream a channel carries, or nil for a channel that is not a node stream.
    static func stream(ofChannel channel: [UInt8]) -> (Kind, [UInt8])? {
        let parts = String(decoding: channel, as: UTF8.self).split(separator: ":", maxSplits: 2)
        guard parts.count == 3, parts[0] == "haven", let number = UInt8(parts[1]), let kind = Kind(rawValue: number),
              let key = try? Base64URL.decode(String(parts[2])) else { return nil }
        return (kind, key)
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
