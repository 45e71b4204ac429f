import Sodium
import Testing

@Suite struct SigningTests {
    let message = Array("I am here if you need to talk".utf8)

    @Test func signatureVerifies() throws {
        let keys = try SigningKeyPair.generate()
        let signature = keys.sign(message)
        #expect(signature.count == 64)
        try keys.publicKey.verify(signature: signature, of: message)
    }

    @Test func alteredMessageFailsVerification() throws {
        let keys = try SigningKeyPair.generate()
        let signature = keys.sign(message)
        var altered = message
        altered[0] ^= 1
        #expect(throws: SodiumError.signatureInvalid) { try keys.publicKey.verify(signature: signature, of: altered) }
    }

    @Test func otherKeyFailsVerification() throws {
        let signature = try SigningKeyPair.generate().sign(message)
        let other = try SigningKeyPair.generate()
        #expect(throws: SodiumError.signatureInvalid) { try other.publicKey.verify(signature: signature, of: message) }
    }

    @Test func truncatedSignatureIsAWrongLength() throws {
        let keys = try SigningKeyPair.generate()
        let signature = Array(keys.sign(message).dropLast())
        #expect(throws: SodiumError.wrongLength(what: "Ed25519 signature", length: 63, expected: 64)) {
            try keys.publicKey.verify(signature: signature, of: message)
        }
    }

    @Test func seedDeterminesTheKeypair() throws {
        var seedBytes = [UInt8](repeating: 7, count: 32)
        let seed = try SecretBytes(consuming: &seedBytes)
        let a = try SigningKeyPair(seed: seed)
        let b = try SigningKeyPair(seed: seed)
        #expect(a.publicKey == b.publicKey)
        #expect(a.sign(message) == b.sign(message))
        #expect(try a.seed().constantTimeEquals(seed))
    }

    @Test func wrongSeedLengthIsRejected() throws {
        var short = [UInt8](repeating: 1, count: 31)
        let seed = try SecretBytes(consuming: &short)
        #expect(throws: SodiumError.wrongLength(what: "Ed25519 seed", length: 31, expected: 32)) {
            try SigningKeyPair(seed: seed)
        }
    }

    @Test func publicKeyOfWrongLengthIsRejected() {
        #expect(throws: SodiumError.wrongLength(what: "Ed25519 public key", length: 33, expected: 32)) {
            try SigningPublicKey(bytes: [UInt8](repeating: 0, count: 33))
        }
    }

    @Test func invalidPointDoesNotConvertToX25519() throws {
        // All-0xFF is not the encoding of a point on the curve.
        let key = try SigningPublicKey(bytes: [UInt8](repeating: 0xFF, count: 32))
        #expect(throws: SodiumError.keyConversionFailed) { try key.boxPublicKey() }
    }
}
