import Sodium
import Testing

@Suite struct SecretStreamTests {
    let chunks: [[UInt8]] = [Array("first".utf8), Array("second".utf8), Array("last".utf8)]

    func encrypt(_ key: SecretBytes) throws -> (header: [UInt8], chunks: [[UInt8]]) {
        let pusher = try SecretStreamPusher(key: key)
        let encrypted = chunks.enumerated().map { index, chunk in
            pusher.push(chunk, isFinal: index == chunks.count - 1)
        }
        return (pusher.header, encrypted)
    }

    @Test func roundTripsAndEndsOnTheFinalTag() throws {
        let key = try SecretBytes.random(count: SecretStream.keyLength)
        let (header, encrypted) = try encrypt(key)
        let puller = try SecretStreamPuller(key: key, header: header)
        let decrypted = try encrypted.map { try puller.pull($0) }
        #expect(decrypted == chunks)
        try puller.finish()
    }

    @Test func truncatedStreamIsDetected() throws {
        let key = try SecretBytes.random(count: SecretStream.keyLength)
        let (header, encrypted) = try encrypt(key)
        let puller = try SecretStreamPuller(key: key, header: header)
        for chunk in encrypted.dropLast() { _ = try puller.pull(chunk) }
        let error = #expect(throws: SodiumError.streamTruncated) { try puller.finish() }
        #expect(error?.description.contains("truncated") == true)
    }

    @Test func dataAfterTheFinalChunkIsRejected() throws {
        let key = try SecretBytes.random(count: SecretStream.keyLength)
        let (header, encrypted) = try encrypt(key)
        let puller = try SecretStreamPuller(key: key, header: header)
        for chunk in encrypted { _ = try puller.pull(chunk) }
        #expect(throws: SodiumError.streamDataAfterFinal) { try puller.pull(encrypted[0]) }
    }

    @Test func reorderedChunksFailAuthentication() throws {
        let key = try SecretBytes.random(count: SecretStream.keyLength)
        let (header, encrypted) = try encrypt(key)
        let puller = try SecretStreamPuller(key: key, header: header)
        #expect(throws: SodiumError.authenticationFailed) { try puller.pull(encrypted[1]) }
    }

    @Test func tamperedChunkAndWrongKeyFailAuthentication() throws {
        let key = try SecretBytes.random(count: SecretStream.keyLength)
        let (header, encrypted) = try encrypt(key)
        var tampered = encrypted[0]
        tampered[tampered.count - 1] ^= 1
        #expect(throws: SodiumError.authenticationFailed) {
            try SecretStreamPuller(key: key, header: header).pull(tampered)
        }
        let stranger = try SecretBytes.random(count: SecretStream.keyLength)
        #expect(throws: SodiumError.authenticationFailed) {
            try SecretStreamPuller(key: stranger, header: header).pull(encrypted[0])
        }
    }

    @Test func badHeaderAndClippedChunkAreRejected() throws {
        let key = try SecretBytes.random(count: SecretStream.keyLength)
        #expect(throws: SodiumError.wrongLength(what: "secretstream header", length: 10, expected: 24)) {
            try SecretStreamPuller(key: key, header: [UInt8](repeating: 0, count: 10))
        }
        let (header, _) = try encrypt(key)
        #expect(throws: SodiumError.tooShort(what: "secretstream chunk", length: 16, minimum: 17)) {
            try SecretStreamPuller(key: key, header: header).pull([UInt8](repeating: 0, count: 16))
        }
    }
}
