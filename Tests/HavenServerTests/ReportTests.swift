import Foundation
import HavenClient
import HavenProtocol
import HavenServer
import HavenStore
import HavenTestSupport
import Sodium
import Testing

/// A reported direct message is revealed alone, and moderators can prove it is what was sent.
@Suite struct ReportTests {
    let organisation = try! SigningKeyPair.generate()

    func directMessage(_ client: TestClient) async throws -> OpenedMessage {
        try await client.log.wait("a direct message") { events in
            events.compactMap { if case .directMessage(let message, _) = $0 { return message } else { return nil } }.first
        }
    }

    @Test func reportedDirectMessageIsVerifiedByModeratorsAndForgeriesAreRefused() async throws {
        let key = organisation.publicKey
        let server = try TestServer { $0.organisationPublicKey = key }
        let loop = try ClientLoop()
        let abuser = try TestClient("Loud Crow", loop: loop.loop, organisation: organisation.publicKey)
        let target = try TestClient("Quiet Otter", loop: loop.loop, organisation: organisation.publicKey)
        try await abuser.connect(server)
        try await target.connect(server)
        _ = try await abuser.client.sendDirect("you are worthless", to: target.member)
        _ = try await abuser.client.sendDirect("another private message", to: target.member)
        let received = try await directMessage(target)
        #expect(received.body.text == "you are worthless")

        // Forged evidence (other words under the same id) does not match the stored commitment.
        var forged = ReportEvidence(received)
        forged.body = WireBytes(Array(#"{"text":"words never sent"}"#.utf8))
        let fake = Report(category: .harassment, message: received.id, sender: received.sender, evidence: forged)
        await target.client.sendRaw(String(decoding: FrameCodec.encode(.report(ReportFrame(report: fake))), as: UTF8.self))
        _ = try await target.log.wait("the refusal") { events in
            events.contains { if case .serverError(let error) = $0 { return error.code == "franking_mismatch" } else { return false } } ? true : nil
        }
        // Only the recipient can report a direct message.
        await #expect(throws: ClientError.refused(code: "unknown_message", message: "the report does not match a message you received")) {
            try await abuser.client.reportDirect(received, category: .spam)
        }

        try await target.client.reportDirect(received, category: .harassment)

        let link = try server.invite(.moderator, organisation: organisation).link
        let moderator = try TestClient("Mo", loop: loop.loop, organisation: organisation.publicKey)
        try await moderator.connect(server)
        await #expect(throws: ClientError.self) { try await moderator.client.reports() }
        _ = try await moderator.client.redeemInvite(link, organisation: organisation.publicKey)
        let reports = try await moderator.client.reports()
        #expect(reports.count == 1)
        let entry = try #require(reports.first)
        try entry.verify()
        #expect(entry.report.category == .harassment)
        #expect(String(decoding: entry.report.evidence!.body.bytes, as: UTF8.self).contains("you are worthless"))
        #expect(!FrameCodec.encode(.reports(ReportList(reports: reports))).containsText("another private message"),
                "nothing but the reported message is revealed")
        await #expect(throws: ClientError.refused(code: "not_a_moderator", message: "only staff may read reports")) {
            try await target.client.reports()
        }
    }
}

extension Array where Element == UInt8 {
    func containsText(_ text: String) -> Bool { String(decoding: self, as: UTF8.self).contains(text) }
}
