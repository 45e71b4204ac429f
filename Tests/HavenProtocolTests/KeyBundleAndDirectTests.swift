import HavenProtocol
import Sodium
import Testing

@Suite struct EpochKeyBundleTests {
    let fixtures: Fixtures
    init() throws { fixtures = try Fixtures() }

    @Test func recipientOpensTheKeyAndLearnsWhoSealedIt() throws {
        let bundle = try EpochKeyBundle.seal(fixtures.key, to: MemberID(fixtures.bob), by: fixtures.alice)
        let opened = try bundle.open(with: fixtures.bob)
        #expect(opened.key.constantTimeEquals(fixtures.key.key))
        #expect(opened.room == fixtures.room && opened.epoch == 3)
        #expect(bundle.sealer == MemberID(fixtures.alice))
        let envelope = try fixtures.envelope("after the key arrived")
        #expect(try envelope.open(with: opened).body.text == "after the key arrived")
    }

    @Test func anotherMemberCannotOpenIt() throws {
        let bundle = try EpochKeyBundle.seal(fixtures.key, to: MemberID(fixtures.bob), by: fixtures.alice)
        #expect(throws: ProtocolError.wrongRecipient(what: "epoch key bundle")) { try bundle.open(with: fixtures.mallory) }
        var readdressed = bundle
        readdressed.recipient = MemberID(fixtures.mallory)
        #expect(throws: ProtocolError.signatureInvalid(what: "epoch key bundle")) { try readdressed.open(with: fixtures.mallory) }
    }

    @Test func alteredEpochOrSealerIsDetected() throws {
        let bundle = try EpochKeyBundle.seal(fixtures.key, to: MemberID(fixtures.bob), by: fixtures.alice)
        var otherEpoch = bundle
        otherEpoch.epoch = 4
        var otherSealer = bundle
        otherSealer.sealer = MemberID(fixtures.mallory)
        for altered in [otherEpoch, otherSealer] {
            #expect(throws: ProtocolError.signatureInvalid(what: "epoch key bundle")) { try altered.open(with: fixtures.bob) }
        }
    }

    @Test func resealedByAnImpostorIsAttributedToTheImpostor() throws {
        // Mallory can seal her own key to Bob, but must sign as herself: Bob sees who vouched.
        let fake = try EpochKey.generate(room: fixtures.room, epoch: 3)
        let bundle = try EpochKeyBundle.seal(fake, to: MemberID(fixtures.bob), by: fixtures.mallory)
        var forged = bundle
        forged.sealer = MemberID(fixtures.alice)
        #expect(throws: ProtocolError.signatureInvalid(what: "epoch key bundle")) { try forged.open(with: fixtures.bob) }
    }

    @Test func truncatedSealedKeyIsAWrongLength() throws {
        var bundle = try EpochKeyBundle.seal(fixtures.key, to: MemberID(fixtures.bob), by: fixtures.alice)
        bundle.sealed = WireBytes(Array(bundle.sealed.bytes.prefix(40)))
        #expect(throws: ProtocolError.wrongLength(field: "sealed", length: 40, expected: 80)) { try bundle.open(with: fixtures.bob) }
    }
}

@Suite struct DirectMessageTests {
    let fixtures: Fixtures
    init() throws { fixtures = try Fixtures() }

    @Test func recipientReadsItAndKnowsTheSender() throws {
        let message = try DirectMessage.seal(MessageBody(text: "just between us"), from: fixtures.alice, to: MemberID(fixtures.bob))
        let opened = try message.open(with: fixtures.bob)
        #expect(opened.body.text == "just between us")
        #expect(opened.sender == MemberID(fixtures.alice))
    }

    @Test func onlyTheRecipientCanOpenIt() throws {
        let message = try DirectMessage.seal(MessageBody(text: "x"), from: fixtures.alice, to: MemberID(fixtures.bob))
        #expect(throws: ProtocolError.wrongRecipient(what: "direct message")) { try message.open(with: fixtures.mallory) }
        var readdressed = message
        readdressed.recipient = MemberID(fixtures.mallory)
        #expect(throws: ProtocolError.decryptionFailed(what: "direct message")) { try readdressed.open(with: fixtures.mallory) }
    }

    @Test func aSenderNamedInsideTheSealMustHaveSignedIt() throws {
        // Mallory seals words under Alice's key with her own signature: the name inside is checked.
        let body = Array(#"{"text":"it is me, Alice"}"#.utf8)
        let frankingKey = Franking.generateKey()
        let commitment = try Franking.commitment(body: body, key: frankingKey)
        let id = MessageID.random()
        let bob = MemberID(fixtures.bob)
        let signature = fixtures.mallory.sign(DirectMessage.signedBytes(id: id, sender: MemberID(fixtures.mallory), recipient: bob, commitment: commitment))
        let plaintext = MessagePadding.pad(fixtures.alice.publicKey.bytes + signature + frankingKey + body, floor: MessagePadding.sealedFloor)
        let forged = DirectMessage(id: id, recipient: bob, franking: WireBytes(commitment),
                                   sealed: WireBytes(try bob.publicKey.boxPublicKey().seal(plaintext)))
        #expect(throws: ProtocolError.signatureInvalid(what: "direct message")) { try forged.open(with: fixtures.bob) }
    }

    @Test func aSenderWrittenBesideTheSealIsNeitherTakenNorAccepted() throws {
        // A server adding a sender beside a sealed-sender message makes the seal read the old way,
        // where the signature does not verify; and servers refuse such a message outright.
        var message = try DirectMessage.seal(MessageBody(text: "hello"), from: fixtures.mallory, to: MemberID(fixtures.bob))
        message.sender = MemberID(fixtures.alice)
        #expect(throws: ProtocolError.self) { try message.open(with: fixtures.bob) }
        #expect(throws: ProtocolError.invalidField("sender", reason: "the sender travels inside the seal, never beside it")) {
            try message.requireSealedSenderAndPadding()
        }
    }

    @Test func aSealedMessageLengthShowsOnlyItsBucket() throws {
        let short = try DirectMessage.seal(MessageBody(text: "ok"), from: fixtures.alice, to: MemberID(fixtures.bob))
        let longer = try DirectMessage.seal(MessageBody(text: String(repeating: "I can't sleep. ", count: 40)), from: fixtures.alice, to: MemberID(fixtures.bob))
        #expect(short.sealed.count == longer.sealed.count, "short messages share the smallest bucket")
        #expect(short.sealed.count == MessagePadding.sealedFloor + SealedBox.overhead)
        try short.requireSealedSenderAndPadding()
        var unpadded = short
        unpadded.sealed = WireBytes(Array(short.sealed.bytes.dropLast()))
        #expect(throws: ProtocolError.paddingInvalid(what: "sealed")) { try unpadded.requireSealedSenderAndPadding() }
    }

    @Test func tamperedSealOrCommitmentIsDetected() throws {
        let message = try DirectMessage.seal(MessageBody(text: "x"), from: fixtures.alice, to: MemberID(fixtures.bob))
        var tampered = message
        tampered.sealed.bytes[60] ^= 1
        #expect(throws: ProtocolError.decryptionFailed(what: "direct message")) { try tampered.open(with: fixtures.bob) }
        var recommitted = message
        recommitted.franking = WireBytes(RandomBytes.bytes(count: 32))
        #expect(throws: ProtocolError.signatureInvalid(what: "direct message")) { try recommitted.open(with: fixtures.bob) }
    }

    @Test func reportRevealsExactlyWhatTheSenderSigned() throws {
        let message = try DirectMessage.seal(MessageBody(text: "abusive words"), from: fixtures.alice, to: MemberID(fixtures.bob))
        let opened = try message.open(with: fixtures.bob)
        // A moderator given the body, franking key and signature can check both against the
        // commitment the server stored, without any key of Bob's.
        try Franking.verify(body: opened.bodyBytes, key: opened.frankingKey, commitment: message.franking.bytes)
        let signed = DirectMessage.signedBytes(
            id: message.id, sender: opened.sender, recipient: message.recipient, commitment: message.franking.bytes)
        try fixtures.alice.publicKey.verify(signature: opened.signature, of: signed)
        let forged = Array(#"{"text":"words Alice never sent"}"#.utf8)
        #expect(throws: ProtocolError.frankingMismatch) {
            try Franking.verify(body: forged, key: opened.frankingKey, commitment: message.franking.bytes)
        }
    }
}
