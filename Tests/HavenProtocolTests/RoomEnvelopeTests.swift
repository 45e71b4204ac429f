import HavenProtocol
import Sodium
import Testing

@Suite struct RoomEnvelopeTests {
    let fixtures: Fixtures
    init() throws { fixtures = try Fixtures() }

    @Test func memberWithTheEpochKeyReadsTheMessage() throws {
        let envelope = try fixtures.envelope("I had a rough day")
        let opened = try envelope.open(with: fixtures.key)
        #expect(opened.body.text == "I had a rough day")
        #expect(opened.sender == MemberID(fixtures.alice))
        #expect(opened.id == envelope.id)
        try envelope.verifySignature()
    }

    @Test func ciphertextDoesNotContainThePlaintext() throws {
        let envelope = try fixtures.envelope("a very recognisable sentence")
        let encoded = String(decoding: FrameCodec.encode(.send(EnvelopeFrame(envelope: envelope))), as: UTF8.self)
        #expect(!encoded.contains("recognisable"))
    }

    @Test func tamperedCiphertextBreaksTheSignature() throws {
        var envelope = try fixtures.envelope()
        envelope.ciphertext.bytes[40] ^= 1
        #expect(throws: ProtocolError.signatureInvalid(what: "room message")) { try envelope.open(with: fixtures.key) }
    }

    @Test func alteredMetadataBreaksTheSignature() throws {
        let original = try fixtures.envelope()
        var otherID = original
        otherID.id = .random()
        var otherSender = original
        otherSender.sender = MemberID(fixtures.mallory)
        var otherEpoch = original
        otherEpoch.epoch += 1
        for altered in [otherID, otherSender] {
            #expect(throws: ProtocolError.signatureInvalid(what: "room message")) { try altered.open(with: fixtures.key) }
        }
        #expect(throws: ProtocolError.wrongEpoch(expected: 3, actual: 4)) { try otherEpoch.open(with: fixtures.key) }
    }

    @Test func forgerResigningWithTheirOwnKeyCannotPassAsTheSender() throws {
        // Mallory holds the epoch key and re-signs Alice's ciphertext as herself: the associated
        // data names Alice, so decryption fails even though Mallory's signature is valid.
        var envelope = try fixtures.envelope()
        envelope.sender = MemberID(fixtures.mallory)
        envelope.signature = WireBytes(fixtures.mallory.sign(envelope.signedBytes))
        try envelope.verifySignature()
        #expect(throws: ProtocolError.decryptionFailed(what: "room message")) { try envelope.open(with: fixtures.key) }
    }

    @Test func keyOfAnotherEpochIsRefused() throws {
        let envelope = try fixtures.envelope()
        let nextEpoch = try EpochKey.generate(room: fixtures.room, epoch: 4)
        #expect(throws: ProtocolError.wrongEpoch(expected: 4, actual: 3)) { try envelope.open(with: nextEpoch) }
    }

    @Test func wrongKeyForTheSameEpochFailsDecryption() throws {
        let envelope = try fixtures.envelope()
        let impostor = try EpochKey.generate(room: fixtures.room, epoch: 3)
        #expect(throws: ProtocolError.decryptionFailed(what: "room message")) { try envelope.open(with: impostor) }
    }

    @Test func keyOfAnotherRoomIsRefused() throws {
        let envelope = try fixtures.envelope()
        let otherRoom = try EpochKey.generate(room: RoomID("lobby"), epoch: 3)
        #expect(throws: ProtocolError.self) { try envelope.open(with: otherRoom) }
    }

    @Test func replayedEnvelopeIsByteIdenticalSoItsIDIdentifiesIt() throws {
        // A replay is the same signed bytes; the server's (sender, id) uniqueness rejects it,
        // and the envelope cannot be re-issued under a new id without the sender's key.
        let envelope = try fixtures.envelope()
        let replay = try FrameCodec.decode(FrameCodec.encode(.send(EnvelopeFrame(envelope: envelope))))
        #expect(replay == .send(EnvelopeFrame(envelope: envelope)))
        var renumbered = envelope
        renumbered.id = .random()
        #expect(throws: ProtocolError.signatureInvalid(what: "room message")) { try renumbered.verifySignature() }
    }

    @Test func truncatedFieldsAreRejected() throws {
        var shortCiphertext = try fixtures.envelope()
        shortCiphertext.ciphertext = WireBytes(Array(shortCiphertext.ciphertext.bytes.prefix(20)))
        #expect(throws: ProtocolError.wrongLength(field: "ciphertext", length: 20, expected: 48)) {
            try shortCiphertext.open(with: fixtures.key)
        }
        var shortSignature = try fixtures.envelope()
        shortSignature.signature = WireBytes(Array(shortSignature.signature.bytes.dropLast()))
        #expect(throws: ProtocolError.wrongLength(field: "signature", length: 63, expected: 64)) {
            try shortSignature.verifySignature()
        }
    }

    @Test func oversizedBodyIsRefusedBeforeEncryption() throws {
        let text = String(repeating: "a", count: ProtocolLimits.maxTextBytes + 1)
        #expect(throws: ProtocolError.fieldTooLarge(field: "text", size: text.utf8.count, limit: ProtocolLimits.maxTextBytes)) {
            try fixtures.envelope(text)
        }
        #expect(throws: ProtocolError.missingField("text")) {
            try RoomEnvelope.seal(MessageBody(), key: fixtures.key, sender: fixtures.alice)
        }
    }

    @Test func attachmentDescriptorTravelsInsideTheEncryption() throws {
        let descriptor = AttachmentDescriptor(
            blob: "b7Kq2", key: WireBytes(RandomBytes.bytes(count: 32)), header: WireBytes(RandomBytes.bytes(count: 24)),
            size: 1234, chunkSize: 65536, mediaType: "image/png", name: "drawing.png")
        let envelope = try RoomEnvelope.seal(MessageBody(attachment: descriptor), key: fixtures.key, sender: fixtures.alice)
        #expect(try envelope.open(with: fixtures.key).body.attachment == descriptor)

        var disallowed = descriptor
        disallowed.mediaType = "application/x-msdownload"
        #expect(throws: ProtocolError.invalidField("attachment.mediaType", reason: "not an allowed media type")) {
            try RoomEnvelope.seal(MessageBody(attachment: disallowed), key: fixtures.key, sender: fixtures.alice)
        }
        var shortKey = descriptor
        shortKey.key = WireBytes([1, 2, 3])
        #expect(throws: ProtocolError.wrongLength(field: "attachment.key", length: 3, expected: 32)) {
            try shortKey.validate()
        }
    }
}
