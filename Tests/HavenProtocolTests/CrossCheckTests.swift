import Foundation
@_spi(TestVectors) import HavenProtocol
import Sodium
import Testing

/// Where crosscheck.py exchanges files with this suite.
private let crossCheckDirectory = ProcessInfo.processInfo.environment["HAVEN_CROSSCHECK_DIR"]

/// The Swift half of Tests/CrossCheck/crosscheck.py: opens what PyNaCl made, then makes the same
/// kinds of objects for PyNaCl to check. The script runs this suite with HAVEN_CROSSCHECK_DIR set
/// (the README's test command runs the script); without it there is nothing to exchange.
@Suite(.enabled(if: crossCheckDirectory != nil, "run by Tests/CrossCheck/crosscheck.py"))
struct CrossCheckTests {
    struct Signed: Codable { var message: WireBytes; var signature: WireBytes }
    struct Sealed: Codable { var plaintext: WireBytes; var sealed: WireBytes }
    struct Aead: Codable { var key, nonce, associatedData, plaintext, ciphertext: WireBytes }
    struct Stream: Codable { var key, header: WireBytes; var chunks, plaintext: [WireBytes] }
    struct Argon: Codable {
        var password, salt: WireBytes
        var operations: UInt64
        var memoryBytes: Int
        var key: WireBytes
        var hashString: String
    }
    struct Blake: Codable { var key, message, digest: WireBytes }
    struct Room: Codable { var epochKey: WireBytes; var text: String; var envelope: RoomEnvelope }
    struct Bundle: Codable { var epochKey: WireBytes; var bundle: EpochKeyBundle }
    struct Direct: Codable { var text: String; var message: DirectMessage }
    struct Exchange: Codable {
        var swiftSeed: WireBytes?
        var peer: WireBytes
        var signature: Signed
        var sealedBox: Sealed
        var aead: Aead
        var secretstream: Stream
        var argon2id: Argon
        var blake2b: Blake
        var room: Room
        var bundle: Bundle
        var direct: Direct
    }

    @Test func opensWhatPyNaClMadeAndMakesTheSameForIt() throws {
        let directory = try #require(crossCheckDirectory)
        let input = try JSONDecoder().decode(
            Exchange.self, from: Data(contentsOf: URL(fileURLWithPath: directory + "/from-python.json")))
        let me = try SigningKeyPair(seed: #require(input.swiftSeed).secret())
        let python = try MemberID(bytes: input.peer.bytes)
        try openFromPython(input, me: me, python: python)
        let output = try makeForPython(me: me, python: python)
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        try encoder.encode(output).write(to: URL(fileURLWithPath: directory + "/from-swift.json"))
    }

    func openFromPython(_ input: Exchange, me: SigningKeyPair, python: MemberID) throws {
        try python.publicKey.verify(signature: input.signature.signature.bytes, of: input.signature.message.bytes)
        #expect(try me.boxKeyPair().open(input.sealedBox.sealed.bytes) == input.sealedBox.plaintext.bytes)
        let aead = input.aead
        #expect(try AEAD.open(aead.ciphertext.bytes, associatedData: aead.associatedData.bytes, nonce: aead.nonce.bytes,
                              key: aead.key.secret()) == aead.plaintext.bytes)
        let puller = try SecretStreamPuller(key: input.secretstream.key.secret(), header: input.secretstream.header.bytes)
        #expect(try input.secretstream.chunks.map { try puller.pull($0.bytes) } == input.secretstream.plaintext.map(\.bytes))
        try puller.finish()
        let argon = input.argon2id
        let limits = PasswordHash.Limits(operations: argon.operations, memoryBytes: argon.memoryBytes)
        #expect(try PasswordHash.deriveKey(from: argon.password.secret(), salt: argon.salt.bytes, limits: limits).copyBytes()
                == argon.key.bytes)
        #expect(try PasswordHash.verify(argon.password.secret(), against: argon.hashString))
        #expect(try GenericHash.hash(input.blake2b.message.bytes, publicKey: input.blake2b.key.bytes) == input.blake2b.digest.bytes)
        let room = input.room.envelope
        let roomKey = try EpochKey(room: room.room, epoch: room.epoch, key: input.room.epochKey.secret())
        #expect(try room.open(with: roomKey).body.text == input.room.text)
        #expect(try input.bundle.bundle.open(with: me).key.copyBytes() == input.bundle.epochKey.bytes)
        let direct = try input.direct.message.open(with: me)
        #expect(direct.body.text == input.direct.text && direct.sender == python)
    }

    func makeForPython(me: SigningKeyPair, python: MemberID) throws -> Exchange {
        let message = Array("signed by Swift".utf8)
        let sealedPlain = Array("sealed by Swift".utf8)
        let aeadKey = try AEAD.generateKey()
        let associatedData = Array("associated".utf8)
        let aeadPlain = Array("aead by Swift".utf8)
        let (nonce, ciphertext) = try AEAD.seal(aeadPlain, associatedData: associatedData, key: aeadKey)
        let streamKey = try SecretBytes.random(count: SecretStream.keyLength)
        let pusher = try SecretStreamPusher(key: streamKey)
        let chunks = ["first", "second", "final"].map { Array($0.utf8) }
        let stream = chunks.enumerated().map { pusher.push($1, isFinal: $0 == chunks.count - 1) }
        let password = Array("a passphrase for both".utf8)
        let salt = RandomBytes.bytes(count: PasswordHash.saltLength)
        let derived = try PasswordHash.deriveKey(from: WireBytes(password).secret(), salt: salt, limits: .minimum)
        let hashString = try PasswordHash.hashString(WireBytes(password).secret(), limits: .minimum)
        let blakeKey = RandomBytes.bytes(count: 32)
        let blakeMessage = Array("hash me".utf8)
        let epochKey = try EpochKey.generate(room: RoomID("cross-check"), epoch: 9)
        let roomText = "made by Swift for the room"
        let directText = "made by Swift, privately"
        return Exchange(
            swiftSeed: nil,
            peer: WireBytes(me.publicKey.bytes),
            signature: Signed(message: WireBytes(message), signature: WireBytes(me.sign(message))),
            sealedBox: Sealed(plaintext: WireBytes(sealedPlain), sealed: WireBytes(try python.publicKey.boxPublicKey().seal(sealedPlain))),
            aead: Aead(key: WireBytes(aeadKey.copyBytes()), nonce: WireBytes(nonce), associatedData: WireBytes(associatedData),
                       plaintext: WireBytes(aeadPlain), ciphertext: WireBytes(ciphertext)),
            secretstream: Stream(key: WireBytes(streamKey.copyBytes()), header: WireBytes(pusher.header),
                                 chunks: stream.map(WireBytes.init), plaintext: chunks.map(WireBytes.init)),
            argon2id: Argon(password: WireBytes(password), salt: WireBytes(salt), operations: PasswordHash.Limits.minimum.operations,
                            memoryBytes: PasswordHash.Limits.minimum.memoryBytes, key: WireBytes(derived.copyBytes()),
                            hashString: hashString),
            blake2b: Blake(key: WireBytes(blakeKey), message: WireBytes(blakeMessage),
                           digest: WireBytes(try GenericHash.hash(blakeMessage, publicKey: blakeKey))),
            room: Room(epochKey: WireBytes(epochKey.key.copyBytes()), text: roomText,
                       envelope: try RoomEnvelope.seal(MessageBody(text: roomText), key: epochKey, sender: me)),
            bundle: Bundle(epochKey: WireBytes(epochKey.key.copyBytes()),
                           bundle: try EpochKeyBundle.seal(epochKey, to: python, by: me)),
            direct: Direct(text: directText, message: try DirectMessage.seal(MessageBody(text: directText), from: me, to: python)))
    }
}
