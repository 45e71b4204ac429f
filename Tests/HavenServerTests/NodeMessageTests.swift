@testable import HavenServer
import Testing

/// What nodes tell each other through Redis reads back as it was written, and anything else is
/// refused rather than guessed at.
@Suite struct NodeMessageTests {
    let message = NodeMessage(
        kind: .direct, node: Array(repeating: 7, count: 16), cursor: 1 << 40, previous: 3, key: Array(repeating: 9, count: 32),
        frame: Array("{\"type\":\"direct\"}".utf8))

    @Test func aMessageReadsBackAsItWasWritten() throws {
        #expect(try NodeMessage(decoding: message.encoded()) == message)
    }

    @Test func itsChannelNamesItsStream() {
        #expect(NodeMessage.Stream(channel: message.stream.channel) == .member(message.key))
        let room = NodeMessage(kind: .logEntry, node: message.node, cursor: 0, previous: 0, key: Array("lobby".utf8), frame: [])
        #expect(NodeMessage.Stream(channel: room.stream.channel) == .room(Array("lobby".utf8)))
        #expect(NodeMessage.Stream(channel: Array("haven:other:AAAA".utf8)) == nil, "an unknown stream")
        #expect(NodeMessage.Stream(channel: Array("other:room:AAAA".utf8)) == nil, "someone else's channel")
    }

    @Test func cutOffOrForeignBytesAreRefused() {
        let bytes = message.encoded()
        for length in [0, 1, 17, 35, 36 + 31] {
            #expect(throws: NodeMessage.Malformed.self, "cut at \(length)") { try NodeMessage(decoding: Array(bytes.prefix(length))) }
        }
        var otherVersion = bytes
        otherVersion[0] = 2
        #expect(throws: NodeMessage.Malformed.self) { try NodeMessage(decoding: otherVersion) }
        var unknownKind = bytes
        unknownKind[1] = 0
        #expect(throws: NodeMessage.Malformed.self) { try NodeMessage(decoding: unknownKind) }
    }
}
