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
        let stream = NodeMessage.stream(ofChannel: message.channel)
        #expect(stream?.0 == .direct && stream?.1 == message.key)
        #expect(NodeMessage.stream(ofChannel: Array("haven:99:AAAA".utf8)) == nil, "an unknown kind")
        #expect(NodeMessage.stream(ofChannel: Array("other:1:AAAA".utf8)) == nil, "someone else's channel")
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
