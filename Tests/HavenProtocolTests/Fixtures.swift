import HavenProtocol
import Sodium

/// Fresh identities and keys for protocol tests.
struct Fixtures {
    let alice: SigningKeyPair
    let bob: SigningKeyPair
    let mallory: SigningKeyPair
    let room: RoomID
    let key: EpochKey

    init() throws {
        alice = try SigningKeyPair.generate()
        bob = try SigningKeyPair.generate()
        mallory = try SigningKeyPair.generate()
        room = try RoomID("night-owls")
        key = try EpochKey.generate(room: room, epoch: 3)
    }

    func envelope(_ text: String = "hello room") throws -> RoomEnvelope {
        try RoomEnvelope.seal(MessageBody(text: text), key: key, sender: alice)
    }
}

extension MemberID {
    init(_ keys: SigningKeyPair) { self.init(keys.publicKey) }
}
