import Foundation
import FoundationNetworking
import HavenClient
import HavenProtocol
import HavenServer
import HavenStore
import HavenTestSupport
import Sodium
import Testing

/// "Talk to a counsellor": members wait in one line, counsellors see it, the first to take a
/// member gets them; members learn only how many counsellors are online and their own place.
@Suite struct CounsellorQueueTests {
    let organisation = try! SigningKeyPair.generate()

    func server(_ configure: @escaping (inout ServerConfiguration) -> Void = { _ in }) throws -> TestServer {
        let key = organisation.publicKey
        return try TestServer {
            $0.organisationPublicKey = key
            configure(&$0)
        }
    }

    func latestAvailability(_ client: TestClient, _ what: String, _ matches: @escaping (Availability) -> Bool) async throws -> Availability {
        try await client.log.wait(what) { events in
            let latest = events.compactMap { if case .availability(let numbers) = $0 { numbers } else { nil } }.last
            return latest.flatMap { matches($0) ? $0 : nil }
        }
    }

    func latestQueue(_ client: TestClient, _ what: String, _ matches: @escaping ([QueueEntry]) -> Bool) async throws -> [QueueEntry] {
        try await client.log.wait(what) { events in
            let latest = events.compactMap { if case .counsellorQueue(let entries) = $0 { entries } else { nil } }.last
            return latest.flatMap { matches($0) ? $0 : nil }
        }
    }

    func refusal(_ client: TestClient, _ code: String) async throws -> ErrorFrame {
        try await client.log.wait("the refusal \(code)") { events in
            events.compactMap { if case .serverError(let error) = $0, error.code == code { error } else { nil } }.first
        }
    }

    func availabilityOverHTTP(_ server: TestServer) async throws -> Availability {
        let url = URL(string: "http://127.0.0.1:\(server.port)/v1/availability")!
        let (data, _) = try await URLSession.shared.data(from: url)
        return try JSONDecoder().decode(Availability.self, from: data)
    }

    @Test func theFirstCounsellorToTakeAWaitingMemberGetsThemAndTheMemberCanCheckWhoItIs() async throws {
        let server = try server()
        let loop = try ClientLoop()
        let ana = try await server.staffClient(.counsellor, "Ana", organisation: organisation, loop: loop)
        let ben = try await server.staffClient(.counsellor, "Ben", organisation: organisation, loop: loop)
        let member = try TestClient("Quiet Otter", loop: loop.loop, organisation: organisation.publicKey)
        try await member.connect(server)
        _ = try await latestAvailability(member, "two counsellors online") { $0.counsellorsOnline == 2 && $0.position == nil }
        #expect(try await availabilityOverHTTP(server) == Availability(counsellorsOnline: 2, waiting: 0))

        await member.client.askCounsellor()
        _ = try await latestAvailability(member, "first in line") { $0.position == 1 && $0.waiting == 1 }
        for counsellor in [ana, ben] {
            let line = try await latestQueue(counsellor, "the member in the line") { $0.count == 1 }
            #expect(line[0].member == member.member && line[0].displayName == "Quiet Otter" && line[0].connected)
        }
        #expect(try await availabilityOverHTTP(server).waiting == 1)

        await ana.client.takeFromQueue(member.member)
        let taken = try await member.log.wait("a counsellor took the member") { events in
            events.compactMap { if case .queueTaken(let taken, let verified) = $0 { (taken, verified) } else { nil } }.first
        }
        #expect(taken.0.counsellor.member == ana.member && taken.1, "the counsellor's proof verifies on the member's device")
        _ = try await ana.log.wait("Ana is told she has them") { events in
            events.contains { if case .queueTaken(let taken, _) = $0 { taken.member == member.member } else { false } } ? true : nil
        }
        _ = try await latestQueue(ben, "the line is empty for Ben") { $0.isEmpty }
        await ben.client.takeFromQueue(member.member)
        let late = try await refusal(ben, "no_longer_waiting")
        #expect(late.message.contains("another counsellor is already with them"))
        _ = try await latestAvailability(member, "no longer in line") { $0.position == nil && $0.waiting == 0 }
    }

    @Test func onlyMembersWaitAndOnlyCounsellorsTake() async throws {
        let server = try server()
        let loop = try ClientLoop()
        let moderator = try await server.staffClient(.moderator, "Mo", organisation: organisation, loop: loop)
        let ana = try await server.staffClient(.counsellor, "Ana", organisation: organisation, loop: loop)
        let member = try TestClient("Quiet Otter", loop: loop.loop, organisation: organisation.publicKey)
        let other = try TestClient("Loud Crow", loop: loop.loop, organisation: organisation.publicKey)
        try await member.connect(server)
        try await other.connect(server)
        await member.client.askCounsellor()
        _ = try await latestQueue(ana, "the member in the line") { $0.count == 1 }

        await other.client.takeFromQueue(member.member)
        _ = try await refusal(other, "not_a_counsellor")
        await moderator.client.takeFromQueue(member.member)
        _ = try await refusal(moderator, "not_a_counsellor")
        await ana.client.askCounsellor()
        _ = try await refusal(ana, "already_staff")
        _ = try await latestQueue(ana, "the line unchanged") { $0.map(\.member) == [member.member] }

        // Asking again keeps one's place; asking and leaving over and over is slowed down.
        await member.client.askCounsellor()
        await member.client.leaveQueue()
        _ = try await latestQueue(ana, "the member left the line") { $0.isEmpty }
        for _ in 0..<6 { await other.client.askCounsellor() }
        _ = try await refusal(other, "rate_limited")
        _ = try await latestQueue(ana, "the other member waits once") { $0.map(\.member) == [other.member] }
    }

    @Test func aDroppedConnectionKeepsItsPlaceForAWhileThenLosesIt() async throws {
        let server = try server { $0.waitingGraceMilliseconds = 1500 }
        let loop = try ClientLoop()
        let ana = try await server.staffClient(.counsellor, "Ana", organisation: organisation, loop: loop)
        let identity = try SigningKeyPair.generate()
        let first = try TestClient("Quiet Otter", loop: loop.loop, identity: identity, organisation: organisation.publicKey)
        let second = try TestClient("Loud Crow", loop: loop.loop, organisation: organisation.publicKey)
        try await first.connect(server)
        try await second.connect(server)
        await first.client.askCounsellor()
        _ = try await latestQueue(ana, "the first member waits") { $0.count == 1 }
        await second.client.askCounsellor()
        _ = try await latestQueue(ana, "both wait") { $0.count == 2 }

        await first.client.disconnect()
        _ = try await latestQueue(ana, "the first is shown as reconnecting") { $0.first?.connected == false }
        let back = try TestClient("Quiet Otter", loop: loop.loop, identity: identity, organisation: organisation.publicKey)
        try await back.connect(server)
        _ = try await latestAvailability(back, "still first in line") { $0.position == 1 }
        _ = try await latestQueue(ana, "connected again, still first") { $0.first?.member == MemberID(identity.publicKey) && $0.first?.connected == true }

        await back.client.disconnect()
        _ = try await latestQueue(ana, "dropped after the grace period") { $0.map(\.member) == [second.member] }
        _ = try await latestAvailability(second, "the second moves up") { $0.position == 1 }
    }

    @Test func membersHearWhenCounsellorsComeAndGo() async throws {
        let server = try server()
        let loop = try ClientLoop()
        let member = try TestClient("Quiet Otter", loop: loop.loop, organisation: organisation.publicKey)
        try await member.connect(server)
        _ = try await latestAvailability(member, "nobody online") { $0.counsellorsOnline == 0 }
        let ana = try await server.staffClient(.counsellor, "Ana", organisation: organisation, loop: loop)
        _ = try await latestAvailability(member, "Ana came") { $0.counsellorsOnline == 1 }
        await ana.client.disconnect()
        _ = try await latestAvailability(member, "Ana left") { $0.counsellorsOnline == 0 }
        #expect(try await availabilityOverHTTP(server).counsellorsOnline == 0)
    }

    @Test func aWorryingReportAlertsCounsellorsAndReachesStaffInboxesLive() async throws {
        let server = try server()
        let loop = try ClientLoop()
        let room = try RoomID("lobby")
        let ana = try await server.staffClient(.counsellor, "Ana", organisation: organisation, loop: loop)
        let moderator = try await server.staffClient(.moderator, "Mo", organisation: organisation, loop: loop)
        let worried = try TestClient("Kind Wren", loop: loop.loop, organisation: organisation.publicKey)
        let struggling = try TestClient("Grey Heron", loop: loop.loop, organisation: organisation.publicKey)
        try await worried.enter(server, room: room)
        try await struggling.enter(server, room: room)
        let id = MessageID.random()
        _ = try await struggling.client.send("I don't see the point any more", to: room, id: id)
        _ = try await worried.waitForTexts(1, in: room)

        try await worried.client.reportRoomMessage(id, sender: struggling.member, in: room, category: .selfHarmRisk)
        let concern = try await ana.log.wait("the counsellor is alerted") { events in
            events.compactMap { if case .concern(let concern) = $0 { concern } else { nil } }.first
        }
        #expect(concern.member == struggling.member && concern.message == id && concern.room == room && concern.displayName == "Grey Heron")
        #expect(!moderator.log.events.contains { if case .concern = $0 { true } else { false } }, "the alert goes to counsellors")
        let inbox = try await moderator.client.reports()
        #expect(inbox.contains { $0.report.message == id && $0.report.category == .selfHarmRisk })
    }

    @Test func theReasonForARemovalIsSignedAndReachesTheMember() async throws {
        let server = try server()
        let loop = try ClientLoop()
        let room = try RoomID("lobby")
        let ana = try await server.staffClient(.counsellor, "Ana", organisation: organisation, loop: loop)
        let member = try TestClient("Loud Crow", loop: loop.loop, organisation: organisation.publicKey)
        try await ana.enter(server, room: room)
        try await member.enter(server, room: room)

        await #expect(throws: ClientError.self) {
            try await ana.client.moderate(.remove, room: room, target: member.member, reason: String(repeating: "x", count: 301))
        }
        try await ana.client.moderate(.remove, room: room, target: member.member, reason: "Harassing other members")
        let action = try await member.log.wait("the member is told") { events in
            events.compactMap { if case .moderated(let action) = $0, action.kind == .remove { action } else { nil } }.first
        }
        #expect(action.reason == "Harassing other members")
        var altered = action
        altered.reason = "No reason"
        #expect(throws: ProtocolError.self) { try altered.verify() }
    }

    @Test func oneNetworkCannotFillTheLine() async throws {
        let server = try server { $0.rateLimits.addressPlacesInLine = 2 }
        let loop = try ClientLoop()
        let ana = try await server.staffClient(.counsellor, "Ana", organisation: organisation, loop: loop)
        var members: [TestClient] = []
        for name in ["Quiet Otter", "Calm Heron", "Kind Wren"] {
            let member = try TestClient(name, loop: loop.loop, organisation: organisation.publicKey)
            try await member.connect(server)
            members.append(member)
        }
        for member in members { await member.client.askCounsellor() }
        let refusal = try await refusal(members[2], "queue_full")
        #expect(refusal.message.contains("many people on this network are waiting already"))
        _ = try await latestQueue(ana, "two places for one network") { $0.map(\.member) == members.prefix(2).map(\.member) }
    }

    @Test func reportsMustNameAStoredMessageAndItsSenderAndOneNetworkIsLimited() async throws {
        let server = try server { $0.rateLimits.addressReportBurst = 3 }
        let loop = try ClientLoop()
        let room = try RoomID("lobby")
        let ana = try await server.staffClient(.counsellor, "Ana", organisation: organisation, loop: loop)
        let reporter = try TestClient("Kind Wren", loop: loop.loop, organisation: organisation.publicKey)
        let writer = try TestClient("Grey Heron", loop: loop.loop, organisation: organisation.publicKey)
        let bystander = try TestClient("Observer Owl", loop: loop.loop, organisation: organisation.publicKey)
        try await reporter.enter(server, room: room)
        try await writer.enter(server, room: room)
        try await bystander.enter(server, room: room)
        let id = MessageID.random()
        _ = try await writer.client.send("a real message", to: room, id: id)
        _ = try await reporter.waitForTexts(1, in: room)

        // A made-up message, or a real one pinned on someone who did not write it, is refused: a
        // worried report cannot send counsellors after a member who wrote nothing.
        await #expect(throws: ClientError.refused(code: "unknown_message", message: "the report does not match a message of this room")) {
            try await reporter.client.reportRoomMessage(.random(), sender: writer.member, in: room, category: .selfHarmRisk)
        }
        await #expect(throws: ClientError.refused(code: "unknown_message", message: "the report does not match a message of this room")) {
            try await reporter.client.reportRoomMessage(id, sender: bystander.member, in: room, category: .selfHarmRisk)
        }
        #expect(!ana.log.events.contains { if case .concern = $0 { true } else { false } }, "no alert for a refused report")

        // The real one is taken; one network's reports are limited whatever identities it uses.
        try await reporter.client.reportRoomMessage(id, sender: writer.member, in: room, category: .harassment)
        await #expect(throws: ClientError.refused(code: "rate_limited", message: "too many reports from this network; please try again later")) {
            try await bystander.client.reportRoomMessage(id, sender: writer.member, in: room, category: .spam)
        }
        let inbox = try await ana.client.reports()
        #expect(inbox.count == 1 && inbox[0].report.message == id)
    }

    @Test func oneIdentityFilesOnlyAFewReportsAtOnce() async throws {
        let server = try server {
            $0.rateLimits.reportBurst = 3
            $0.rateLimits.reportsPerMinute = 0.01
        }
        let loop = try ClientLoop()
        let room = try RoomID("lobby")
        let reporter = try TestClient("Kind Wren", loop: loop.loop, organisation: organisation.publicKey)
        let writer = try TestClient("Grey Heron", loop: loop.loop, organisation: organisation.publicKey)
        try await reporter.enter(server, room: room)
        try await writer.enter(server, room: room)
        var ids: [MessageID] = []
        for index in 0..<5 {
            let id = MessageID.random()
            _ = try await writer.client.send("message \(index)", to: room, id: id)
            ids.append(id)
        }
        _ = try await reporter.waitForTexts(5, in: room)
        for id in ids.prefix(3) { try await reporter.client.reportRoomMessage(id, sender: writer.member, in: room, category: .spam) }
        let tooMany = ClientError.refused(code: "rate_limited", message: "you have sent many reports just now; staff will see them, please wait a little")
        await #expect(throws: tooMany) { try await reporter.client.reportRoomMessage(ids[3], sender: writer.member, in: room, category: .spam) }
        #expect(try server.count("SELECT COUNT(*) FROM reports") == 3)
    }

    @Test func theAuditTrailComesInPagesThatFitOneFrame() async throws {
        let server = try server()
        let loop = try ClientLoop()
        let room = try RoomID("lobby")
        // 400 actions with the longest reasons a moderator may give: about 300 KB of trail.
        let store = try HavenStore(path: server.databasePath)
        let moderatorKeys = try SigningKeyPair.generate()
        let actions = (0..<400).map { index in
            ModerationAction.sign(
                .deleteMessage, room: room, target: MemberID(moderatorKeys.publicKey), message: .random(),
                reason: "reason \(index) " + String(repeating: "r", count: 280), issuedAt: UInt64(index), by: moderatorKeys)
        }
        try store.performAndWait { database in
            for action in actions {
                try database.appendModeration(
                    id: action.id.bytes, kind: action.kind.rawValue, room: "lobby", moderator: action.moderator.bytes,
                    target: action.target?.bytes, action: FrameCodec.encodeValue(action), now: Int64(action.issuedAt))
            }
        }
        store.close()
        let moderator = try await server.staffClient(.moderator, "Mo", organisation: organisation, loop: loop)

        var seen: [ModerationAction] = []
        var page = try await moderator.client.auditPage(room)
        while true {
            #expect(FrameCodec.encode(.audit(page)).count <= ProtocolLimits.maxFrameBytes, "a page fits one frame")
            #expect(page.actions.map(\.issuedAt) == page.actions.map(\.issuedAt).sorted(), "oldest first within a page")
            seen = page.actions + seen
            guard let next = page.next else { break }
            page = try await moderator.client.auditPage(room, before: next)
        }
        #expect(seen.map(\.id) == actions.map(\.id), "every action once, in order, across the pages")
    }

    @Test func theReportInboxComesInPagesThatFitAClientsQueue() async throws {
        let server = try server { $0.rateLimits = .unlimited }
        let loop = try ClientLoop()
        let room = try RoomID("lobby")
        let moderator = try await server.staffClient(.moderator, "Mo", organisation: organisation, loop: loop)
        let reporter = try TestClient("Kind Wren", loop: loop.loop, organisation: organisation.publicKey)
        let writer = try TestClient("Grey Heron", loop: loop.loop, organisation: organisation.publicKey)
        try await reporter.enter(server, room: room)
        try await writer.enter(server, room: room)
        var ids: [MessageID] = []
        for index in 0..<30 {
            let id = MessageID.random()
            _ = try await writer.client.send("message \(index) " + String(repeating: "x", count: 2_000), to: room, id: id)
            ids.append(id)
        }
        _ = try await reporter.waitForTexts(30, in: room)
        for id in ids { try await reporter.client.reportRoomMessage(id, sender: writer.member, in: room, category: .spam) }

        let first = try await moderator.client.reportPage()
        #expect(first.reports.count == 25 && first.next != nil, "a page holds 25 and says where the next starts")
        let second = try await moderator.client.reportPage(before: first.next)
        #expect(second.reports.count == 5 && second.next == nil)
        let seen = (first.reports + second.reports).map(\.report.message)
        #expect(Set(seen) == Set(ids) && seen.count == 30, "every report once, across the pages")
        #expect(FrameCodec.encode(.reports(first)).count <= ProtocolLimits.maxFrameBytes)

        // Large reports (a long private message, revealed as evidence) end a page early instead of
        // making a frame larger than a client reads (or than its send queue holds).
        for index in 0..<8 {
                _ = try await writer.client.sendDirect("long \(index) " + String(repeating: "y", count: 15_000), to: reporter.member)
        }
        let long = try await reporter.log.wait("eight long private messages") { events in
            let messages = events.compactMap { if case .directMessage(let message, _) = $0 { message } else { nil } }
            return messages.count >= 8 ? messages : nil
        }
        for message in long { try await reporter.client.reportDirect(message, category: .harassment) }
        var pages: [ReportList] = []
        var before: MessageID?
        repeat {
            let page = try await moderator.client.reportPage(before: before)
            pages.append(page)
            before = page.next
        } while before != nil && pages.count < 10
        #expect(pages.allSatisfy { FrameCodec.encode(.reports($0)).count <= ProtocolLimits.maxFrameBytes }, "every page a frame the client can read")
        #expect(pages.flatMap(\.reports).count == 38 && pages.count >= 3, "\(pages.map(\.reports.count)): the long reports take pages of their own")
    }
}
