import Sodium
import Testing

/// libsodium's ISO/IEC 7816-4 padding, as wrapped: always at least one byte, and unpadding finds
/// the marker or fails with a clear error.
@Suite struct PaddingTests {
    @Test func padsToTheNextBlockAndBack() throws {
        for length in [0, 1, 15, 16, 17, 100] {
            let bytes = [UInt8](repeating: 7, count: length)
            let padded = Padding.pad(bytes, blockSize: 16)
            #expect(padded.count == (length / 16 + 1) * 16, "\(length) bytes pad to the next block, never to themselves")
            #expect(padded[length] == 0x80 && padded[(length + 1)...].allSatisfy { $0 == 0 })
            #expect(try Padding.unpad(padded, blockSize: 16) == bytes)
        }
    }

    @Test func bytesWithoutAMarkerAreRefused() {
        #expect(throws: SodiumError.paddingInvalid) { try Padding.unpad([UInt8](repeating: 0, count: 32), blockSize: 16) }
        #expect(throws: SodiumError.paddingInvalid) { try Padding.unpad([1, 2, 3], blockSize: 16) }
        #expect(throws: SodiumError.paddingInvalid) { try Padding.unpad([0x80] + [UInt8](repeating: 0, count: 16), blockSize: 16) }
    }
}
