import Foundation
import HavenClient
import HavenNet
import HavenProtocol
import HavenServer
import HavenTestSupport
import Sodium
import Testing

/// The two parties of a ringing or live call get TURN credentials (the TURN REST API scheme),
/// valid for minutes: the relay is not a free service for anyone who logs in.
@Suite struct TurnTests {
    let secret = Array("a secret shared with coturn".utf8)

    func scene() async throws -> CallTests.Scene {
        let secret = secret
        return try await CallTests().scene { $0.turn = TurnSettings(urls: ["turn:127.0.0.1:3478"], secret: secret) }
    }

    @Test func credentialsFollowTheTurnRestSchemeAndLastMinutes() async throws {
        let scene = try await scene()
        let ana = scene.counsellor
        let alice = try await scene.member("Quiet Otter")
        let call = CallID()
        try await ana.client.sendCallSignal(call.ring(.audio), to: alice.member)
        _ = try await alice.waitForSignal(.ring, from: ana.member)
        let ringing = try await alice.client.turnCredentials(for: call.id)
        try await alice.client.sendCallSignal(call.accept(.audio), to: ana.member)
        _ = try await ana.waitForSignal(.accept, from: alice.member)

        let credentials = try await ana.client.turnCredentials(for: call.id)
        #expect(credentials.urls == ["turn:127.0.0.1:3478"])
        let parts = credentials.username.split(separator: ":")
        #expect(parts.count == 2 && parts[1].count == 22, "expiry and a random name")
        #expect(!credentials.username.contains(ana.member.description), "the relay never learns the member's key")
        let expiry = try #require(Int64(parts[0]))
        #expect(abs(expiry - (Int64(Date().timeIntervalSince1970) + 300)) < 5, "valid for five minutes by default")
        #expect(credentials.credential == Data(HMACSHA1.authenticate(Array(credentials.username.utf8), key: secret)).base64EncodedString())
        #expect(ringing.username != credentials.username, "the member being rung got their own")
    }

    @Test func onlyThePartiesOfARingingOrLiveCallGetCredentials() async throws {
        let scene = try await scene()
        let ana = scene.counsellor
        let alice = try await scene.member("Quiet Otter")
        let bob = try await scene.member("Calm Heron")
        let noCall = ClientError.refused(code: "no_call", message: "relay credentials are given for a call in progress only")
        await #expect(throws: noCall) { try await alice.client.turnCredentials(for: CallID().id) }

        let call = CallID()
        try await ana.client.sendCallSignal(call.ring(.audio), to: alice.member)
        _ = try await alice.waitForSignal(.ring, from: ana.member)
        await #expect(throws: noCall, "someone else does not get a relay for their call") { try await bob.client.turnCredentials(for: call.id) }
        await #expect(throws: noCall, "the caller gets one once the call is answered, not for ringing") {
            try await ana.client.turnCredentials(for: call.id)
        }
        try await alice.client.sendCallSignal(call.accept(.audio), to: ana.member)
        _ = try await ana.waitForSignal(.accept, from: alice.member)
        _ = try await alice.client.turnCredentials(for: call.id)

        try await ana.client.sendCallSignal(call.signal(.hangup, reason: "done"), to: alice.member)
        _ = try await alice.waitForSignal(.hangup, from: ana.member)
        await #expect(throws: noCall, "the call is over") { try await alice.client.turnCredentials(for: call.id) }
    }

    @Test func withoutARelayTheRequestIsRefused() async throws {
        let server = try TestServer()
        let loop = try ClientLoop()
        let alice = try TestClient("Quiet Otter", loop: loop.loop)
        try await alice.connect(server)
        await #expect(throws: ClientError.refused(code: "turn_unavailable", message: "this server has no TURN relay configured")) {
            try await alice.client.turnCredentials(for: CallID().id)
        }
    }
}
