import Foundation
import HavenClient
import HavenNet
import HavenProtocol
import HavenServer
import HavenTestSupport
import Testing

/// Logged-in members get time-limited TURN credentials by the TURN REST API scheme.
@Suite struct TurnTests {
    @Test func credentialsFollowTheTurnRestSchemeAndExpire() async throws {
        let secret = Array("a secret shared with coturn".utf8)
        let server = try TestServer { $0.turn = TurnSettings(urls: ["turn:127.0.0.1:3478"], secret: secret, ttlSeconds: 600) }
        let loop = try ClientLoop()
        let alice = try TestClient("Quiet Otter", loop: loop.loop)
        try await alice.connect(server)
        let credentials = try await alice.client.turnCredentials()
        #expect(credentials.urls == ["turn:127.0.0.1:3478"])
        let parts = credentials.username.split(separator: ":")
        #expect(parts.count == 2 && parts[1].count == 22, "expiry and a random name")
        #expect(!credentials.username.contains(alice.member.description), "the relay never learns the member's key")
        #expect(try await alice.client.turnCredentials().username != credentials.username, "each request gets a new name")
        let expiry = try #require(Int64(parts[0]))
        #expect(abs(expiry - (Int64(Date().timeIntervalSince1970) + 600)) < 5)
        #expect(credentials.credential == Data(HMACSHA1.authenticate(Array(credentials.username.utf8), key: secret)).base64EncodedString())
    }

    @Test func withoutARelayTheRequestIsRefused() async throws {
        let server = try TestServer()
        let loop = try ClientLoop()
        let alice = try TestClient("Quiet Otter", loop: loop.loop)
        try await alice.connect(server)
        await #expect(throws: ClientError.refused(code: "turn_unavailable", message: "this server has no TURN relay configured")) {
            try await alice.client.turnCredentials()
        }
    }
}
