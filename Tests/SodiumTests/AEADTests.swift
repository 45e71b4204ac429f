@_spi(TestVectors) import Sodium
import Testing

@Suite struct AEADTests {
    let plaintext = Array("you are not alone".utf8)
    let associatedData = Array("room|epoch|id|sender".utf8)

    @Test func roundTrips() throws {
        let key = try AEAD.generateKey()
        let (nonce, ciphertext) = try AEAD.seal(plaintext, associatedData: associatedData, key: key)
        #expect(nonce.count == 24)
        #expect(ciphertext.count == plaintext.count + 16)
        #expect(try AEAD.open(ciphertext, associatedData: associatedData, nonce: nonce, key: key) == plaintext)
    }

    @Test func everyMessageGetsAFreshNonce() throws {
        let key = try AEAD.generateKey()
        let first = try AEAD.seal(plaintext, associatedData: [], key: key)
        let second = try AEAD.seal(plaintext, associatedData: [], key: key)
        #expect(first.nonce != second.nonce)
        #expect(first.ciphertext != second.ciphertext)
    }

    @Test func tamperedCiphertextFailsAuthentication() throws {
        let key = try AEAD.generateKey()
        let (nonce, sealed) = try AEAD.seal(plaintext, associatedData: associatedData, key: key)
        var ciphertext = sealed
        ciphertext[3] ^= 1
        let error = #expect(throws: SodiumError.authenticationFailed) {
            try AEAD.open(ciphertext, associatedData: associatedData, nonce: nonce, key: key)
        }
        #expect(error?.description == "ciphertext failed authentication")
    }

    @Test func alteredAssociatedDataFailsAuthentication() throws {
        let key = try AEAD.generateKey()
        let (nonce, ciphertext) = try AEAD.seal(plaintext, associatedData: associatedData, key: key)
        #expect(throws: SodiumError.authenticationFailed) {
            try AEAD.open(ciphertext, associatedData: Array("room|epoch|id|other".utf8), nonce: nonce, key: key)
        }
    }

    @Test func wrongKeyOrNonceFailsAuthentication() throws {
        let key = try AEAD.generateKey()
        let (nonce, ciphertext) = try AEAD.seal(plaintext, associatedData: [], key: key)
        #expect(throws: SodiumError.authenticationFailed) {
            try AEAD.open(ciphertext, associatedData: [], nonce: nonce, key: try AEAD.generateKey())
        }
        #expect(throws: SodiumError.authenticationFailed) {
            try AEAD.open(ciphertext, associatedData: [], nonce: RandomBytes.bytes(count: 24), key: key)
        }
    }

    @Test func truncatedCiphertextIsRejected() throws {
        let key = try AEAD.generateKey()
        let (nonce, ciphertext) = try AEAD.seal(plaintext, associatedData: [], key: key)
        #expect(throws: SodiumError.authenticationFailed) {
            try AEAD.open(Array(ciphertext.dropLast()), associatedData: [], nonce: nonce, key: key)
        }
        #expect(throws: SodiumError.tooShort(what: "ciphertext", length: 15, minimum: 16)) {
            try AEAD.open(Array(ciphertext.prefix(15)), associatedData: [], nonce: nonce, key: key)
        }
    }

    @Test func badKeyAndNonceLengthsAreRejected() throws {
        let shortKey = try SecretBytes.random(count: 16)
        #expect(throws: SodiumError.wrongLength(what: "AEAD key", length: 16, expected: 32)) {
            try AEAD.seal(plaintext, associatedData: [], key: shortKey)
        }
        #expect(throws: SodiumError.wrongLength(what: "AEAD nonce", length: 12, expected: 24)) {
            try AEAD.seal(plaintext, associatedData: [], nonce: [UInt8](repeating: 0, count: 12), key: try AEAD.generateKey())
        }
    }
}
