import Sodium
import Testing

@Suite struct HashingTests {
    @Test func keyedBlake2bDependsOnTheKey() throws {
        let message = Array("message".utf8)
        let keyA = [UInt8](repeating: 1, count: 32)
        let keyB = [UInt8](repeating: 2, count: 32)
        let a = try GenericHash.hash(message, publicKey: keyA)
        #expect(a.count == 32)
        #expect(a == (try GenericHash.hash(message, publicKey: keyA)))
        #expect(a != (try GenericHash.hash(message, publicKey: keyB)))
        var secretKeyBytes = keyA
        #expect(a == (try GenericHash.hash(message, key: SecretBytes(consuming: &secretKeyBytes))))
    }

    @Test func unkeyedBlake2bMatchesTheKnownAnswer() throws {
        // BLAKE2b-256 of the empty string (RFC 7693 reference implementation).
        let digest = try GenericHash.hash([], outputLength: 32)
        #expect(Base64URL.encode(digest) == "DldRwCblQ7Loqy6wYJnaodHl30d3j3eH-qtFzfEv46g")
    }

    @Test func unsupportedLengthsAreRejected() {
        #expect(throws: SodiumError.outputLengthUnsupported(what: "BLAKE2b output", length: 8, range: 16...64)) {
            try GenericHash.hash([1], outputLength: 8)
        }
        #expect(throws: SodiumError.outputLengthUnsupported(what: "BLAKE2b key", length: 4, range: 16...64)) {
            try GenericHash.hash([1], publicKey: [1, 2, 3, 4])
        }
    }

    @Test func argon2idHashStringVerifiesOnlyTheRightPassword() throws {
        var right = Array("a long passphrase".utf8)
        var wrong = Array("a long passphrasE".utf8)
        let password = try SecretBytes(consuming: &right)
        let hash = try PasswordHash.hashString(password, limits: .minimum)
        #expect(hash.hasPrefix("$argon2id$"))
        #expect(try PasswordHash.verify(password, against: hash))
        #expect(try !PasswordHash.verify(SecretBytes(consuming: &wrong), against: hash))
        #expect(throws: SodiumError.passwordHashMalformed) { try PasswordHash.verify(password, against: "$2b$10$bcrypt") }
    }

    @Test func argon2idKeyDerivationIsDeterministicPerSalt() throws {
        var bytes = Array("passphrase".utf8)
        let password = try SecretBytes(consuming: &bytes)
        let salt = [UInt8](repeating: 3, count: PasswordHash.saltLength)
        let a = try PasswordHash.deriveKey(from: password, salt: salt, limits: .minimum)
        let b = try PasswordHash.deriveKey(from: password, salt: salt, limits: .minimum)
        let c = try PasswordHash.deriveKey(from: password, salt: [UInt8](repeating: 4, count: 16), limits: .minimum)
        #expect(a.count == 32)
        #expect(a.constantTimeEquals(b))
        #expect(!a.constantTimeEquals(c))
        #expect(throws: SodiumError.wrongLength(what: "Argon2id salt", length: 8, expected: 16)) {
            try PasswordHash.deriveKey(from: password, salt: [UInt8](repeating: 0, count: 8), limits: .minimum)
        }
    }
}
