import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import HavenClient
import HavenNet
import HavenProtocol
import HavenServer
import HavenTestSupport
import Sodium
import Testing

/// New identities cost something: a proof of work at login, bound to the connection's challenge
/// and the key, raised while new identities flood in (issue 12, item 3).
@Suite struct ProofOfWorkTests {
    func login(_ server: TestServer, _ identity: SigningKeyPair, loop: EventLoop, proveWork: Bool) async throws -> (RawWebSocket, AuthChallenge) {
        let socket = try await RawWebSocket.connect(port: server.port, loop: loop)
        let challenge = try await socket.challenge()
        let answer = challenge.respond(identity: identity, displayName: "Quiet Otter", proveWork: proveWork)
        socket.send(String(decoding: FrameCodec.encode(.auth(answer)), as: UTF8.self))
        return (socket, challenge)
    }

    func members(_ server: TestServer) throws -> Int64 { try server.count("SELECT COUNT(*) FROM members") }

    @Test func aNewIdentityShowsItsWorkAKnownOneNeedNot() async throws {
        let server = try TestServer { $0.proofOfWork.baseBits = 12 }
        let loop = try ClientLoop()
        let identity = try SigningKeyPair.generate()

        let (lazy, challenge) = try await login(server, identity, loop: loop.loop, proveWork: false)
        #expect(challenge.work == 12)
        _ = try await lazy.waitForFrame(containing: "proof_required", timeout: 30)
        #expect(try await lazy.waitForClose() == WebSocketCloseCode.authenticationFailed.rawValue)
        #expect(try members(server) == 0, "a new identity without its work was recorded")

        // A proof made for another connection's challenge does not count.
        let other = try await RawWebSocket.connect(port: server.port, loop: loop.loop)
        let foreignProof = ProofOfWork.solve(bits: 12, challenge: try await other.challenge(), member: MemberID(identity.publicKey))
        let replay = try await RawWebSocket.connect(port: server.port, loop: loop.loop)
        let replayChallenge = try await replay.challenge()
        var forged = replayChallenge.respond(identity: identity, displayName: "Quiet Otter", proveWork: false)
        forged.proof = WireBytes(foreignProof)
        replay.send(String(decoding: FrameCodec.encode(.auth(forged)), as: UTF8.self))
        _ = try await replay.waitForFrame(containing: "proof_required", timeout: 30)

        let (honest, _) = try await login(server, identity, loop: loop.loop, proveWork: true)
        _ = try await honest.waitForFrame(containing: #""type":"welcome""#)
        #expect(try members(server) == 1)

        let (returning, _) = try await login(server, identity, loop: loop.loop, proveWork: false)
        _ = try await returning.waitForFrame(containing: #""type":"welcome""#)
    }

    @Test func aFloodOfNewIdentitiesRaisesTheWorkAndMetricsShowIt() async throws {
        let server = try TestServer {
            $0.proofOfWork.baseBits = 4
            $0.proofOfWork.maxBits = 10
            $0.proofOfWork.floodNewIdentitiesPerMinute = 3
        }
        let loop = try ClientLoop()
        for index in 0..<12 {
            let throwaway = try TestClient("Throwaway \(index)", loop: loop.loop)
            try await throwaway.connect(server)
        }
        let socket = try await RawWebSocket.connect(port: server.port, loop: loop.loop)
        let work = try #require(try await socket.challenge().work)
        #expect(work == 6, "12 new identities a minute against a threshold of 3 is two doublings: 4 + 2 bits")

        let (data, _) = try await URLSession.shared.data(from: URL(string: "http://127.0.0.1:\(server.port)/metrics")!)
        let metrics = String(decoding: data, as: UTF8.self)
        #expect(metrics.contains("haven_proof_of_work_bits 6"))
        #expect(metrics.contains("haven_new_identities_total 12"))
        #expect(metrics.contains("haven_new_identities_per_minute 12"))
    }

    @Test(.timeLimit(.minutes(2)))
    func aServerAskingForEndlessWorkGetsNoMoreThanAnyClientDoes() async throws {
        // 32 bits would be four billion hashes: hours. A client does 22 at most, as the widget.
        let challenge = AuthChallenge(server: "haven.example", work: 32)
        let identity = try SigningKeyPair.generate()
        let answer = await onOwnThread { challenge.respond(identity: identity, displayName: "Quiet Otter") }
        let proof = try #require(answer.proof?.bytes)
        #expect(ProofOfWork.isValid(proof, bits: ProofOfWork.maxBits, challenge: challenge, member: answer.member))
        #expect(ProofOfWork.maxBits == 22)
    }
}
