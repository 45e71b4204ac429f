import Sodium
import Testing

@Suite struct Base64URLTests {
    @Test func encodesWithoutPaddingInTheURLSafeAlphabet() {
        #expect(Base64URL.encode([]) == "")
        #expect(Base64URL.encode([0xFB, 0xFF]) == "-_8")
        #expect(Base64URL.encode(Array("haven".utf8)) == "aGF2ZW4")
    }

    @Test func roundTripsEveryLength() throws {
        for length in 0..<40 {
            let bytes = RandomBytes.bytes(count: length)
            #expect(try Base64URL.decode(Base64URL.encode(bytes)) == bytes)
        }
    }

    @Test(arguments: ["aGF2ZW4=", "aGF2 ZW4", "+/8", "aGF2ZW4!", "a", "aGF2ZW5"])
    func rejectsNonCanonicalText(_ text: String) {
        #expect(throws: SodiumError.invalidBase64(length: text.utf8.count)) { try Base64URL.decode(text) }
    }
}
