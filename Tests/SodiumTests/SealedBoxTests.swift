import Sodium
import Testing

@Suite struct SealedBoxTests {
    let plaintext = Array("the room key".utf8)

    @Test func sealedToAnIdentityOpensWithItsConvertedKey() throws {
        let identity = try SigningKeyPair.generate()
        let sealed = try identity.publicKey.boxPublicKey().seal(plaintext)
        #expect(sealed.count == plaintext.count + 48)
        #expect(try identity.boxKeyPair().open(sealed) == plaintext)
    }

    @Test func secretSealsAndOpensIntoSecureMemory() throws {
        let identity = try SigningKeyPair.generate()
        let key = try SecretBytes.random(count: 32)
        let sealed = try identity.publicKey.boxPublicKey().seal(key)
        #expect(try identity.boxKeyPair().openSecret(sealed).constantTimeEquals(key))
    }

    @Test func wrongKeyCannotOpen() throws {
        let sealed = try SigningKeyPair.generate().publicKey.boxPublicKey().seal(plaintext)
        let stranger = try SigningKeyPair.generate().boxKeyPair()
        #expect(throws: SodiumError.sealedBoxNotOpened) { try stranger.open(sealed) }
    }

    @Test func tamperedBoxCannotOpen() throws {
        let identity = try SigningKeyPair.generate()
        var sealed = try identity.publicKey.boxPublicKey().seal(plaintext)
        sealed[sealed.count - 1] ^= 0x80
        #expect(throws: SodiumError.sealedBoxNotOpened) { try identity.boxKeyPair().open(sealed) }
    }

    @Test func truncatedBoxSaysHowShort() throws {
        let identity = try SigningKeyPair.generate()
        let sealed = Array(try identity.publicKey.boxPublicKey().seal(plaintext).prefix(31))
        let error = #expect(throws: SodiumError.self) { try identity.boxKeyPair().open(sealed) }
        #expect(error?.description == "sealed box is too short: 31 bytes, need at least 48")
    }
}
