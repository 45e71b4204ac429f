import Sodium
import Testing

@Suite struct SecretBytesTests {
    @Test func descriptionNeverShowsTheBytes() throws {
        var source: [UInt8] = Array("correct horse battery staple".utf8)
        let secret = try SecretBytes(consuming: &source)
        #expect(secret.description == "SecretBytes(28 bytes, redacted)")
        #expect(!String(describing: secret).contains("horse"))
        #expect(!String(reflecting: secret).contains("horse"))
        #expect(!"\(secret)".contains("99"))
    }

    @Test func consumingZeroesTheCallersCopy() throws {
        var source: [UInt8] = [1, 2, 3, 4]
        let secret = try SecretBytes(consuming: &source)
        #expect(source == [0, 0, 0, 0])
        #expect(secret.copyBytes() == [1, 2, 3, 4])
    }

    @Test func comparesInConstantTimeByContent() throws {
        var a: [UInt8] = [9, 8, 7]
        var b: [UInt8] = [9, 8, 7]
        var c: [UInt8] = [9, 8, 6]
        var d: [UInt8] = [9, 8]
        let first = try SecretBytes(consuming: &a)
        #expect(first.constantTimeEquals(try SecretBytes(consuming: &b)))
        #expect(!first.constantTimeEquals(try SecretBytes(consuming: &c)))
        #expect(!first.constantTimeEquals(try SecretBytes(consuming: &d)))
    }

    @Test func randomSecretsDiffer() throws {
        let a = try SecretBytes.random(count: 32)
        let b = try SecretBytes.random(count: 32)
        #expect(a.count == 32)
        #expect(!a.constantTimeEquals(b))
    }

    @Test func constantTimeEqualsOnArrays() {
        #expect(ConstantTime.equals([1, 2, 3], [1, 2, 3]))
        #expect(!ConstantTime.equals([1, 2, 3], [1, 2, 4]))
        #expect(!ConstantTime.equals([1, 2, 3], [1, 2]))
        #expect(ConstantTime.equals([], []))
    }

    @Test func randomBytesHaveTheRequestedLengthAndVary() {
        let a = RandomBytes.bytes(count: 24)
        #expect(a.count == 24)
        #expect(a != RandomBytes.bytes(count: 24))
    }
}
