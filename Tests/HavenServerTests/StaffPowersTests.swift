import Foundation
import HavenClient
import HavenProtocol
import HavenServer
import HavenStore
import HavenTestSupport
import Sodium
import Testing

/// Staff create rooms and admit members to private ones; counsellors appoint moderators.
@Suite struct StaffPowersTests {
    let organisation = try! SigningKeyPair.generate()

    func staff(_ role: StaffRole, _ name: String, server: TestServer, loop: ClientLoop) async throws -> TestClient {
        try await server.staffClient(role, name, organisation: organisation, loop: loop)
    }

    @Test func counsellorCreatesAPrivateRoomAndAdmitsAMember() async throws {
        let key = organisation.publicKey
        let server = try TestServer { $0.organisationPublicKey = key }
        let loop = try ClientLoop()
        let counsellor = try await staff(.counsellor, "Ana", server: server, loop: loop)
        let alice = try TestClient("Quiet Otter", loop: loop.loop, organisation: organisation.publicKey)
        try await alice.connect(server)
        let grief = try RoomID("grief")
        await #expect(throws: ClientError.refused(code: "not_a_moderator", message: "only staff may create rooms")) {
            try await alice.client.createRoom(grief, name: "Grief group", kind: "private")
        }
        let rooms = try await counsellor.client.createRoom(grief, name: "Grief group", kind: "private")
        #expect(rooms.contains { $0.room == grief && $0.kind == "private" })
        #expect(try await alice.client.rooms().allSatisfy { $0.room != grief }, "members do not see private rooms")
        await #expect(throws: ClientError.refused(code: "not_invited", message: "this room is open by invitation only")) {
            _ = try await alice.client.join(grief)
        }
        _ = try await counsellor.client.join(grief)
        await counsellor.client.waitForKey(grief)
        try await counsellor.client.moderate(.admit, room: grief, target: alice.member)
        _ = try await alice.client.join(grief)
        await alice.client.waitForKey(grief)
        _ = try await counsellor.client.send("welcome to the group", to: grief)
        #expect(try await alice.waitForTexts(1, in: grief) == ["welcome to the group"])
    }

    @Test func counsellorAppointsAModeratorWhomMembersCanVerify() async throws {
        let key = organisation.publicKey
        let server = try TestServer { $0.organisationPublicKey = key }
        let loop = try ClientLoop()
        let lobby = try RoomID("lobby")
        let counsellor = try await staff(.counsellor, "Ana", server: server, loop: loop)
        let moderator = try await staff(.moderator, "Mo", server: server, loop: loop)
        let alice = try TestClient("Quiet Otter", loop: loop.loop, organisation: organisation.publicKey)
        let bob = try TestClient("Calm Heron", loop: loop.loop, organisation: organisation.publicKey)
        try await alice.connect(server)
        try await bob.connect(server)

        await #expect(throws: ClientError.refused(code: "not_a_moderator", message: "only counsellors may appoint moderators")) {
            try await moderator.client.moderate(.appoint, target: bob.member)
        }
        await #expect(throws: ClientError.self) { try await alice.client.moderate(.suspend, target: bob.member, until: 4_000_000_000) }
        try await counsellor.client.moderate(.appoint, target: alice.member)
        try await alice.client.moderate(.suspend, target: bob.member, until: UInt64(Date().timeIntervalSince1970) + 600)

        _ = try await alice.client.join(lobby)
        let joined = try await bob.client.join(lobby)
        let shown = try #require(joined.members.first { $0.member == alice.member })
        #expect(shown.verifiedRole(organisation: organisation.publicKey) == .moderator)
        var borrowed = shown
        borrowed.member = bob.member
        #expect(borrowed.verifiedRole(organisation: organisation.publicKey) == nil, "an appointment names one member")
    }
}
