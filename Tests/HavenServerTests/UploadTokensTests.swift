import HavenProtocol
@testable import HavenServer
import Sodium
import Testing

/// Attachment tokens alone, without a server: a few per session, valid for minutes, one upload
/// each, and gone with their session.
@Suite struct UploadTokensTests {
    let member = MemberID(try! SigningKeyPair.generate().publicKey)
    let phone = 1
    let laptop = 2

    func token(_ number: UInt8) -> [UInt8] { Array(repeating: number, count: 32) }

    @Test func aSessionHoldsAFewTokensAtOnce() {
        var tokens = UploadTokens()
        func issue(_ number: UInt8, on connection: Int, at now: Int64 = 0) -> Bool {
            tokens.issue(token(number), to: member, connection: connection, now: now)
        }
        for number in 0..<UInt8(UploadTokens.perSession) {
            #expect(issue(number, on: phone))
        }
        #expect(!issue(100, on: phone), "past the most a session holds")
        #expect(issue(101, on: laptop), "another session has its own")
        #expect(issue(102, on: phone, at: Int64(UploadTokens.lifetimeSeconds)), "expired tokens no longer count")
    }

    @Test func aTokenIsValidForMinutesOnly() {
        var tokens = UploadTokens()
        _ = tokens.issue(token(1), to: member, connection: phone, now: 1_000)
        #expect(tokens.grant(for: token(1), now: 1_000)?.member == member)
        #expect(tokens.grant(for: token(1), now: 1_000 + Int64(UploadTokens.lifetimeSeconds)) == nil)
        #expect(tokens.grant(for: token(2), now: 1_000) == nil, "a token never issued")
        tokens.expire(now: 1_000 + Int64(UploadTokens.lifetimeSeconds))
        #expect(tokens.grant(for: token(1), now: 1_000) == nil, "forgotten once expired")
    }

    @Test func aTokenUploadsOnce() {
        var tokens = UploadTokens()
        func issue(_ number: UInt8) -> Bool { tokens.issue(token(number), to: member, connection: phone, now: 0) }
        _ = issue(1)
        tokens.startUpload(with: token(1))
        #expect(tokens.grant(for: token(1), now: 0)?.uploadStarted == true, "its head has come: it uploads nothing else")
        tokens.finishUpload(with: token(1))
        #expect(tokens.grant(for: token(1), now: 0) == nil)
        for number in 2...UInt8(UploadTokens.perSession) { #expect(issue(number)) }
        #expect(issue(99), "a finished upload's token no longer counts")
    }

    @Test func tokensEndWithTheirSession() {
        var tokens = UploadTokens()
        _ = tokens.issue(token(1), to: member, connection: phone, now: 0)
        _ = tokens.issue(token(2), to: member, connection: laptop, now: 0)
        tokens.revoke(connection: phone)
        #expect(tokens.grant(for: token(1), now: 0) == nil)
        #expect(tokens.grant(for: token(2), now: 0) != nil, "the other session's stays")
    }
}
