import Foundation
import HavenClient
import HavenProtocol
import HavenServer
import HavenTestSupport
import Sodium
import Testing

/// A member may take private messages only from counsellors (and people they wrote to): the
/// server refuses anyone else, while the member is online or away.
@Suite struct DirectPreferencesTests {
    let lobby = try! RoomID("lobby")
    let organisation = try! SigningKeyPair.generate()

    @Test func aMemberWhoTakesMessagesOnlyFromStaffHearsFromCounsellorsAndThoseTheyWroteTo() async throws {
        let key = organisation.publicKey
        let server = try TestServer { $0.organisationPublicKey = key }
        let loop = try ClientLoop()
        let ana = try await server.staffClient(.counsellor, "Ana", organisation: organisation, loop: loop)
        let alice = try TestClient("Quiet Otter", loop: loop.loop, organisation: key)
        let bob = try TestClient("Calm Heron", loop: loop.loop, organisation: key)
        try await alice.enter(server, room: lobby)
        try await bob.enter(server, room: lobby)

        await bob.client.setDirectPreferences(from: .staffOnly)
        // The server takes a connection's frames in order: once this is acknowledged, so is the choice.
        _ = try await bob.client.send("settled", to: lobby)
        await #expect(throws: ClientError.refused(code: "not_accepting_messages", message: "this member takes private messages only from counsellors")) {
            _ = try await alice.client.sendDirect("hey, answer me", to: bob.member)
        }
        // The acknowledgement carries no cursor: it is the recipient's, and would count what others sent them.
        #expect(try await ana.client.sendDirect("I'm here if you want to talk", to: bob.member) == 0)
        #expect(try await bob.waitForDirectTexts(1) == ["I'm here if you want to talk"], "a counsellor still gets through")

        // Bob writes to Alice: her answer reaches him while that connection is open.
        _ = try await bob.client.sendDirect("sorry, I was busy", to: alice.member)
        _ = try await alice.client.sendDirect("no worries", to: bob.member)
        #expect(try await bob.waitForDirectTexts(2) == ["I'm here if you want to talk", "no worries"])

        // Away, the choice holds; set back to anyone, anyone may write again.
        await bob.client.disconnect(abruptly: false)
        _ = try await alice.log.wait("Bob gone") { events in
            events.contains { if case .memberLeft(_, let member) = $0 { member == bob.member } else { false } } ? true : nil
        }
        await #expect(throws: ClientError.refused(code: "not_accepting_messages", message: "this member takes private messages only from counsellors")) {
            _ = try await alice.client.sendDirect("are you there?", to: bob.member)
        }
        try await bob.connect(server)
        await bob.client.waitForKey(lobby)
        // On a new connection (a reload, a dropped network), whom Bob's device says it wrote to
        // may answer him again; nobody else.
        await bob.client.setDirectPreferences(from: .staffOnly, writtenTo: [alice.member])
        _ = try await bob.client.send("settled again", to: lobby)
        _ = try await alice.client.sendDirect("still here for you", to: bob.member)
        let carol = try TestClient("Still Pond", loop: loop.loop, organisation: key)
        try await carol.enter(server, room: lobby)
        await #expect(throws: ClientError.refused(code: "not_accepting_messages", message: "this member takes private messages only from counsellors")) {
            _ = try await carol.client.sendDirect("hello stranger", to: bob.member)
        }
        await bob.client.setDirectPreferences(from: .anyone)
        _ = try await bob.client.send("settled once more", to: lobby)
        _ = try await alice.client.sendDirect("welcome back", to: bob.member)
    }

    @Test func aListOfPeopleWrittenToLongerThanTheLimitIsRefused() async throws {
        let server = try TestServer()
        let loop = try ClientLoop()
        let alice = try TestClient("Quiet Otter", loop: loop.loop)
        try await alice.enter(server, room: lobby)
        let many = try (0...DirectPreferences.maxWrittenTo).map { _ in MemberID(try SigningKeyPair.generate().publicKey) }
        await alice.client.setDirectPreferences(from: .staffOnly, writtenTo: many)
        let refusal = try await alice.log.wait("a refusal") { events in
            events.lazy.compactMap { if case .serverError(let error) = $0 { error } else { nil } }.first
        }
        #expect(refusal.code == "field_too_large" && refusal.message.contains("writtenTo"), "\(refusal)")
        _ = try await alice.client.send("the server keeps serving", to: lobby)
    }
}
