import Foundation
@_spi(TestVectors) import HavenProtocol
import Sodium
import Testing

@Suite struct VectorTests {
    let vectors: TestVectors

    init() throws { vectors = try TestVectors.load() }

    @Test func seedsDeriveTheListedKeys() throws {
        for identity in vectors.identities {
            let keys = try vectors.keyPair(identity.name)
            #expect(keys.publicKey.bytes == identity.ed25519Public.bytes, "\(identity.name)")
            #expect(try keys.publicKey.boxPublicKey().bytes == identity.x25519Public.bytes, "\(identity.name)")
            #expect(try keys.boxKeyPair().publicKey.bytes == identity.x25519Public.bytes, "\(identity.name)")
        }
    }

    @Test func base64urlMatches() throws {
        for item in vectors.base64url {
            let bytes = stride(from: 0, to: item.hex.count, by: 2).map { offset -> UInt8 in
                let start = item.hex.index(item.hex.startIndex, offsetBy: offset)
                return UInt8(item.hex[start...item.hex.index(after: start)], radix: 16)!
            }
            #expect(Base64URL.encode(bytes) == item.text)
            #expect(try Base64URL.decode(item.text) == bytes)
        }
    }

    @Test func frankingCommitmentMatches() throws {
        let item = vectors.franking
        #expect(try Franking.commitment(body: item.body.bytes, key: item.key.bytes) == item.commitment.bytes)
    }

    @Test func authSignatureMatchesByteForByte() throws {
        let item = vectors.auth
        let keys = try vectors.keyPair(item.member)
        let challenge = AuthChallenge(nonce: item.nonce, server: item.server)
        #expect(challenge.signedBytes(member: MemberID(keys.publicKey)) == item.signedBytes.bytes)
        let response = challenge.respond(identity: keys, displayName: "Quiet Otter")
        #expect(response.signature == item.signature)
        try challenge.verify(response)
    }

    @Test func proofOfWorkIsTheOneThePythonReferenceFound() throws {
        let work = vectors.proofOfWork
        let member = MemberID(try vectors.keyPair(work.member).publicKey)
        let challenge = AuthChallenge(nonce: work.nonce, server: work.server, work: work.bits)
        #expect(ProofOfWork.isValid(work.proof.bytes, bits: work.bits, challenge: challenge, member: member))
        #expect(ProofOfWork.solve(bits: work.bits, challenge: challenge, member: member) == work.proof.bytes, "the first counter that works")
        let other = AuthChallenge(nonce: WireBytes([UInt8](repeating: 1, count: 32)), server: work.server)
        #expect(!ProofOfWork.isValid(work.proof.bytes, bits: work.bits, challenge: other, member: member), "bound to its challenge")
        #expect(!ProofOfWork.isValid(Array(work.proof.bytes.dropLast()), bits: 0, challenge: challenge, member: member), "8 bytes")
    }

    @Test func roomEnvelopeOpensAndResealsIdentically() throws {
        let item = vectors.roomMessage
        let envelope = item.envelope
        let key = try EpochKey(room: envelope.room, epoch: envelope.epoch, key: item.epochKey.secret())
        #expect(envelope.associatedData == item.associatedData.bytes)
        #expect(envelope.signedBytes == item.signedBytes.bytes)

        try envelope.requirePadded()
        let opened = try envelope.open(with: key)
        #expect(opened.bodyBytes == item.body.bytes)
        #expect(opened.frankingKey == item.frankingKey.bytes)
        #expect(opened.body.text == "You are not alone tonight.")

        let resealed = try RoomEnvelope.seal(
            opened.body, key: key, sender: vectors.keyPair(item.sender), id: envelope.id,
            nonce: envelope.nonce.bytes, frankingKey: item.frankingKey.bytes)
        #expect(resealed == envelope)
    }

    @Test func epochKeyBundleOpensToTheKnownKey() throws {
        let item = vectors.epochKeyBundle
        #expect(item.bundle.signedBytes == item.signedBytes.bytes)
        let key = try item.bundle.open(with: vectors.keyPair(item.recipient))
        #expect(key.key.copyBytes() == item.epochKey.bytes)
        #expect(key.epoch == item.bundle.epoch)
        #expect(item.bundle.sealer.publicKey == (try vectors.keyPair(item.sealer)).publicKey)
    }

    @Test func directMessageOpensToTheKnownBody() throws {
        let item = vectors.directMessage
        let message = item.message
        let sender = MemberID(try vectors.keyPair(item.sender).publicKey)
        let signed = DirectMessage.signedBytes(id: message.id, sender: sender, recipient: message.recipient, commitment: message.franking.bytes)
        #expect(signed == item.signedBytes.bytes)
        #expect(message.sender == nil, "the sender is sealed inside")
        try message.requireSealedSenderAndPadding()
        let opened = try message.open(with: vectors.keyPair(item.recipient))
        #expect(opened.bodyBytes == item.body.bytes)
        #expect(opened.frankingKey == item.frankingKey.bytes)
        #expect(opened.sender == sender)
    }

    @Test func aDirectMessageFromBeforeSealedSendersStillOpens() throws {
        let item = vectors.legacyDirectMessage
        let opened = try item.message.open(with: vectors.keyPair(item.recipient))
        #expect(opened.bodyBytes == item.body.bytes)
        #expect(opened.sender == MemberID(try vectors.keyPair(item.sender).publicKey))
        #expect(throws: ProtocolError.invalidField("sender", reason: "the sender travels inside the seal, never beside it")) {
            try item.message.requireSealedSenderAndPadding()
        }
    }

    @Test func paddingMatchesTheReferenceBucketsAndBytes() throws {
        let item = vectors.padding
        #expect(item.floor == MessagePadding.floor && item.sealedFloor == MessagePadding.sealedFloor)
        for bucket in item.sealedBuckets {
            #expect(MessagePadding.bucket(bucket.length, floor: item.sealedFloor) == bucket.bucket, "sealed bucket of \(bucket.length)")
        }
        for example in item.sealedExamples {
            #expect(MessagePadding.pad(example.plaintext.bytes, floor: item.sealedFloor) == example.padded.bytes)
            #expect(try MessagePadding.unpad(example.padded.bytes, floor: item.sealedFloor, what: "example") == example.plaintext.bytes)
        }
        for bucket in item.buckets {
            #expect(MessagePadding.bucket(bucket.length) == bucket.bucket, "bucket of \(bucket.length)")
            #expect(MessagePadding.isBucket(bucket.bucket))
        }
        for example in item.examples {
            #expect(MessagePadding.pad(example.plaintext.bytes) == example.padded.bytes, "padding \(example.plaintext.count) bytes")
            #expect(try MessagePadding.unpad(example.padded.bytes, what: "example") == example.plaintext.bytes)
        }
        for invalid in item.invalid {
            #expect(throws: ProtocolError.paddingInvalid(what: "example"), "\(invalid.why)") {
                try MessagePadding.unpad(invalid.padded.bytes, what: "example")
            }
        }
    }

    @Test func rejectedFramesGiveTheListedCodes() {
        for item in vectors.rejectedFrames {
            let error = #expect(throws: ProtocolError.self, "\(item.frame.prefix(80))") {
                try FrameCodec.decode(Array(item.frame.utf8))
            }
            #expect(error?.code == item.code, "\(item.frame.prefix(80)): \(String(describing: error))")
        }
    }
}
