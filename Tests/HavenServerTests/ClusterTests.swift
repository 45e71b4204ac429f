import Foundation
import HavenClient
import HavenNet
import HavenProtocol
import HavenServer
import HavenStore
import HavenTestSupport
import Redis
import Sodium
import Testing

/// Nodes sharing a PostgreSQL database and a Redis server, on loopback: what one commits
/// reaches members on the others, once each and in order, even when Redis loses some.
@Suite struct ClusterTests {
    /// `count` nodes on one fresh database and `redis`, each hearing the others.
    func nodes(_ count: Int, redis: TestRedis, _ configure: @escaping (inout ServerConfiguration) -> Void = { $0.rateLimits = .unlimited }) async throws
        -> [TestServer] {
        let database = try freshStoreLocation(.postgres, folder: "")
        let servers = try (0..<count).map { _ in
            try TestServer {
                $0.database = database
                $0.cluster = ClusterSettings(redis: redis.address)
                configure(&$0)
            }
        }
        try await hearEachOther(servers)
        return servers
    }

    /// Waits until each of `servers` has heard from all the others (a node subscribes to the
    /// others' news once it has started, and hears each within a few seconds).
    func hearEachOther(_ servers: [TestServer]) async throws {
        for server in servers {
            try await waitFor("the nodes to hear each other") {
                try server.server.metricsText().contains("haven_cluster_nodes \(servers.count - 1)\n") ? true : nil
            }
        }
    }

    @Test func aPrivateMessageReachesItsRecipientOnAnotherNodeOnEachConnectionOnce() async throws {
        let redis = try TestRedis()
        let servers = try await nodes(2, redis: redis)
        let clients = try ClientLoop()
        let bob = try SigningKeyPair.generate()
        let alice = try TestClient("Quiet Otter", loop: clients.loop)
        let bobsLaptop = try TestClient("Calm Heron", loop: clients.loop, identity: bob)
        let bobsPhone = try TestClient("Calm Heron", loop: clients.loop, identity: bob)
        try await alice.connect(servers[0])
        try await bobsLaptop.connect(servers[1])
        try await bobsPhone.connect(servers[0])
        for number in 1...20 { _ = try await alice.client.sendDirect("message \(number)", to: bobsLaptop.member) }
        let expected = (1...20).map { "message \($0)" }
        #expect(try await bobsLaptop.waitForDirectTexts(20) == expected, "on the other node: every message once, in order")
        #expect(try await bobsPhone.waitForDirectTexts(20) == expected, "on the sender's node: every message once, in order")
        try await Task.sleep(for: .milliseconds(300))
        #expect(bobsLaptop.directTexts().count == 20 && bobsPhone.directTexts().count == 20, "nothing came twice")
        #expect(try servers[1].server.metricsText().contains("haven_cluster_deliveries_heard_total 20"))
    }

    @Test func messagesSentWhileRedisIsDownArriveOnceItIsBackAndNothingIsDoubled() async throws {
        let redis = try TestRedis()
        let servers = try await nodes(2, redis: redis)
        let clients = try ClientLoop()
        let alice = try TestClient("Quiet Otter", loop: clients.loop)
        let bob = try TestClient("Calm Heron", loop: clients.loop)
        try await alice.connect(servers[0])
        try await bob.connect(servers[1])
        _ = try await alice.client.sendDirect("before", to: bob.member)
        #expect(try await bob.waitForDirectTexts(1) == ["before"])
        redis.stop()
        // Acknowledged: committed to PostgreSQL, whatever became of its publication.
        _ = try await alice.client.sendDirect("while Redis was down", to: bob.member)
        _ = try await alice.client.sendDirect("still down", to: bob.member)
        try redis.start()
        #expect(try await bob.waitForDirectTexts(3) == ["before", "while Redis was down", "still down"], "read from the store once the bus was back")
        _ = try await alice.client.sendDirect("after", to: bob.member)
        #expect(try await bob.waitForDirectTexts(4) == ["before", "while Redis was down", "still down", "after"])
        try await Task.sleep(for: .milliseconds(300))
        #expect(bob.directTexts().count == 4, "nothing came twice")
        #expect(try servers[1].metric("haven_cluster_reconnections_total") >= 1, "the node saw Redis go and come back")
    }

    @Test func aRoomSpreadOverTwoNodesTalksAsOneKeyAndAll() async throws {
        let redis = try TestRedis()
        let servers = try await nodes(2, redis: redis)
        let lobby = try RoomID("lobby")
        let clients = try ClientLoop()
        let alice = try TestClient("Quiet Otter", loop: clients.loop)
        let bob = try TestClient("Calm Heron", loop: clients.loop)
        try await alice.enter(servers[0], room: lobby)
        await alice.client.waitForKey(lobby)
        // Someone on the other node, in no room yet, sees how many are in it.
        try await bob.connect(servers[1])
        try await waitFor("the room list on the other node to count Alice") {
            try await bob.client.rooms().first { $0.room == lobby }?.online == 1 ? true : nil
        }
        _ = try await bob.client.join(lobby)
        // Bob's node hears who is in the room, Alice's hears him come: her client seals him the key.
        await bob.client.waitForKey(lobby)
        for number in 1...10 { _ = try await alice.client.send("from the first node \(number)", to: lobby) }
        _ = try await bob.client.send("from the second node", to: lobby)
        #expect(try await bob.waitForTexts(10, in: lobby) == (1...10).map { "from the first node \($0)" })
        #expect(try await alice.waitForTexts(1, in: lobby) == ["from the second node"])
        try await Task.sleep(for: .milliseconds(300))
        #expect(bob.texts(in: lobby).count == 10 && alice.texts(in: lobby).count == 1, "nothing came twice")
    }

    /// A node to kill and a node that survives it, on one fresh database and `redis`, once the
    /// survivor hears the other: the first is the real `haven serve` in a child process (limits
    /// out of the way, its files in `folder`), the second a server in this process.
    func doomedAndSurvivor(redis: TestRedis, folder: String) async throws -> (doomed: ServerProcess, survivor: TestServer) {
        let database = try freshStoreLocation(.postgres, folder: "")
        guard case .postgres(let url) = database else { throw ChildProcess.Failed(description: "no PostgreSQL database") }
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let limits = ["messages", "new_identity_messages", "address_messages", "frames", "new_identity_frames", "address_frames"]
            .map { "\($0)_per_second = 1e9\n\($0.replacingOccurrences(of: "messages", with: "message").replacingOccurrences(of: "frames", with: "frame"))_burst = 1e9" }
        try """
            [proof_of_work]
            base_bits = 8
            [rate_limits]
            \(limits.joined(separator: "\n"))
            message_bytes_per_hour = 1e15
            new_identity_message_bytes_per_hour = 1e15
            address_message_bytes_per_hour = 1e15
            """.write(toFile: folder + "/node.toml", atomically: true, encoding: .utf8)
        let doomed = try ServerProcess(data: folder + "/data", arguments: ["--store", url, "--redis", "\(redis.address)", "--config", folder + "/node.toml"])
        let survivor = try TestServer {
            $0.database = database
            $0.cluster = ClusterSettings(redis: redis.address)
            $0.rateLimits = .unlimited
        }
        try await waitFor("the survivor to hear the other node") { try survivor.server.metricsText().contains("haven_cluster_nodes 1\n") ? true : nil }
        return (doomed, survivor)
    }

    @Test func aNodeKilledUnderLoadLosesNothingAcknowledgedAndItsMembersGoOnThroughAnother() async throws {
        let redis = try TestRedis()
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("haven-node-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let (doomed, survivor) = try await doomedAndSurvivor(redis: redis, folder: folder)
        let clients = try ClientLoop()
        let aliceKey = try SigningKeyPair.generate()
        let alice = try TestClient("Quiet Otter", loop: clients.loop, identity: aliceKey)
        let bob = try TestClient("Calm Heron", loop: clients.loop)
        try await alice.client.connect(host: "127.0.0.1", port: doomed.port)
        try await bob.connect(survivor)
        let ids = (0..<200).map { _ in MessageID.random() }
        // Sent one after another; the node is killed (SIGKILL) once half are acknowledged, while
        // the next is on its way.
        let acknowledged = Locked(0)
        let killer = Task {
            try await waitFor("half the messages to be acknowledged") { acknowledged.withLock { $0 } >= 100 ? true : nil }
            doomed.kill()
        }
        for (index, id) in ids.enumerated() {
            do {
                _ = try await alice.client.sendDirect("message \(index)", to: bob.member, id: id)
                acknowledged.withLock { $0 += 1 }
            } catch {
                break
            }
        }
        try await killer.value
        let sent = acknowledged.withLock { $0 }
        #expect(sent >= 100 && sent < 200, "the node died mid-way (\(sent) acknowledged)")
        // Alice's device comes back through the other node and sends again what was not
        // acknowledged, under the same ids (one may have been stored without its ack arriving).
        let aliceAgain = try TestClient("Quiet Otter", loop: clients.loop, identity: aliceKey)
        try await aliceAgain.connect(survivor)
        for index in sent..<200 { _ = try await aliceAgain.client.sendDirect("message \(index)", to: bob.member, id: ids[index]) }
        let expected = (0..<200).map { "message \($0)" }
        #expect(try await bob.waitForDirectTexts(200, timeout: 60) == expected, "every message once, in order")
        try await Task.sleep(for: .milliseconds(300))
        #expect(bob.directTexts().count == 200, "nothing came twice")
    }

    @Test func membersOfANodeThatDiesAreShownGoneElsewhereAndTheRoomGoesOn() async throws {
        let redis = try TestRedis()
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("haven-node-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let (doomed, survivor) = try await doomedAndSurvivor(redis: redis, folder: folder)
        let lobby = try RoomID("lobby")
        let clients = try ClientLoop()
        let alice = try TestClient("Quiet Otter", loop: clients.loop)
        let bob = try TestClient("Calm Heron", loop: clients.loop)
        try await alice.client.connect(host: "127.0.0.1", port: doomed.port)
        _ = try await alice.client.join(lobby)
        await alice.client.waitForKey(lobby)
        try await bob.enter(survivor, room: lobby)
        _ = try await alice.client.send("still awake?", to: lobby)
        #expect(try await bob.waitForTexts(1, in: lobby) == ["still awake?"])
        doomed.kill()
        // Nothing more comes from the dead node: after 16 s of silence its members are gone.
        try await bob.log.wait(timeout: 60, "Alice to be shown gone") { events in
            events.contains { if case .memberLeft(lobby, alice.member) = $0 { true } else { false } } ? true : nil
        }
        // The node itself is forgotten once 16 s passed since it last said anything at all, a
        // few seconds after its last word on the room perhaps; at least once (on a machine loaded
        // enough it may have gone unheard for a while before it was killed too).
        try await waitFor("the node to be counted lost") { try survivor.metric("haven_cluster_nodes_lost_total") >= 1 ? true : nil }
        _ = try await bob.client.send("she has gone", to: lobby)
    }

    @Test func aCallRingsIsAnsweredAndEndsAcrossNodes() async throws {
        let organisation = try SigningKeyPair.generate()
        let redis = try TestRedis()
        let servers = try await nodes(2, redis: redis) { $0.organisationPublicKey = organisation.publicKey }
        let loop = try ClientLoop()
        let ana = try await servers[0].staffClient(.counsellor, "Ana", organisation: organisation, loop: loop)
        await ana.client.setCallPreferences(acceptCalls: true, offerCalls: true)
        let alice = try TestClient("Quiet Otter", loop: loop.loop, organisation: organisation.publicKey)
        try await alice.connect(servers[1])
        await alice.client.setCallPreferences(acceptCalls: true)
        let call = CallID()
        try await alice.client.sendCallSignal(call.ring(.audio), to: ana.member)
        #expect(try await ana.waitForSignal(.ring, from: alice.member).call == call.id)
        try await ana.client.sendCallSignal(call.accept(.audio), to: alice.member)
        #expect(try await alice.waitForSignal(.accept, from: ana.member).media == .audio)
        try await alice.client.sendCallSignal(call.signal(.offer, sdp: "v=0 offer"), to: ana.member)
        #expect(try await ana.waitForSignal(.offer, from: alice.member).sdp == "v=0 offer")
        try await ana.client.sendCallSignal(call.signal(.answer, sdp: "v=0 answer"), to: alice.member)
        #expect(try await alice.waitForSignal(.answer, from: ana.member).sdp == "v=0 answer")
        try await ana.client.sendCallSignal(call.signal(.hangup), to: alice.member)
        _ = try await alice.waitForSignal(.hangup, from: ana.member)
        // A step of a call that ended is refused on either node.
        try await alice.client.sendCallSignal(call.signal(.offer, sdp: "v=0 late"), to: ana.member)
        #expect(try await alice.waitForError("no_such_call").call == call.id)

        // The callee's node checks its side: a member who has not turned calls on is not rung.
        let bob = try TestClient("Calm Heron", loop: loop.loop, organisation: organisation.publicKey)
        try await bob.connect(servers[1])
        try await ana.client.sendCallSignal(CallID().ring(.audio), to: bob.member)
        #expect(try await ana.waitForError("calls_blocked").message == "this member does not take calls")
        #expect(bob.callSignals().isEmpty)
        // Nobody anywhere has this identity: refused at once, not after ringing out.
        try await alice.client.sendCallSignal(CallID().ring(.audio), to: MemberID(try SigningKeyPair.generate().publicKey))
        #expect(try await alice.waitForError("callee_unavailable").message == "this member cannot take a call now")
    }

    @Test func theCounsellorLineIsOneLineAcrossNodesAndTheFirstToTakeAMemberGetsThem() async throws {
        let organisation = try SigningKeyPair.generate()
        let redis = try TestRedis()
        let servers = try await nodes(3, redis: redis) { $0.organisationPublicKey = organisation.publicKey }
        let loop = try ClientLoop()
        let ana = try await servers[0].staffClient(.counsellor, "Ana", organisation: organisation, loop: loop)
        let ben = try await servers[1].staffClient(.counsellor, "Ben", organisation: organisation, loop: loop)
        let member = try TestClient("Quiet Otter", loop: loop.loop, organisation: organisation.publicKey)
        try await member.connect(servers[2])
        await member.client.setCallPreferences(acceptCalls: true)
        let latestAvailability = { (what: String, matches: @escaping @Sendable (Availability) -> Bool) in
            try await member.log.wait(what) { events in
                events.compactMap { if case .availability(let numbers) = $0 { numbers } else { nil } }.last.flatMap { matches($0) ? $0 : nil }
            }
        }
        _ = try await latestAvailability("the two counsellors on the other nodes") { $0.counsellorsOnline == 2 && $0.position == nil }
        await member.client.askCounsellor()
        _ = try await latestAvailability("first in line") { $0.position == 1 && $0.waiting == 1 }
        for counsellor in [ana, ben] {
            try await counsellor.log.wait("the member in the line") { events in
                events.compactMap { if case .counsellorQueue(let entries) = $0 { entries } else { nil } }.last
                    .flatMap { $0.map(\.member) == [member.member] ? true : nil }
            }
        }
        // Both take at once: the member's node gives them to one.
        async let first: Void = ana.client.takeFromQueue(member.member)
        async let second: Void = ben.client.takeFromQueue(member.member)
        _ = await (first, second)
        let taken = try await member.log.wait("a counsellor took the member") { events in
            events.compactMap { if case .queueTaken(let taken, let verified) = $0 { (taken.counsellor.member, verified) } else { nil } }.first
        }
        #expect(taken.1, "the counsellor's proof verifies on the member's device")
        let (winner, loser) = taken.0 == ana.member ? (ana, ben) : (ben, ana)
        try await winner.log.wait("the counsellor is told they have the member") { events in
            events.contains { if case .queueTaken(let taken, _) = $0 { taken.member == member.member } else { false } } ? true : nil
        }
        let late = try await loser.log.wait("the other counsellor is told") { events in
            events.compactMap { if case .serverError(let error) = $0, error.code == "no_longer_waiting" { error } else { nil } }.first
        }
        #expect(late.message.contains("another counsellor is already with them"))
        _ = try await latestAvailability("no longer in line") { $0.position == nil && $0.waiting == 0 }
        // "Talk now": the counsellor who took them may call them, from their node to the member's.
        let call = CallID()
        try await winner.client.sendCallSignal(call.ring(.audio), to: member.member)
        #expect(try await member.waitForSignal(.ring, from: winner.member).call == call.id)
    }

    /// Redis away for longer than a node may be silent: every node is silent then, so none is
    /// forgotten, and a member is never told no counsellor is online while one is.
    @Test func whileRedisIsAwayACounsellorOnAnotherNodeStillCountsAsOnline() async throws {
        let organisation = try SigningKeyPair.generate()
        let redis = try TestRedis()
        let servers = try await nodes(2, redis: redis) { $0.organisationPublicKey = organisation.publicKey }
        let loop = try ClientLoop()
        let ana = try await servers[0].staffClient(.counsellor, "Ana", organisation: organisation, loop: loop)
        let member = try TestClient("Quiet Otter", loop: loop.loop, organisation: organisation.publicKey)
        try await member.connect(servers[1])
        let counsellorsOnline = { (events: [ClientEvent]) in
            events.compactMap { if case .availability(let numbers) = $0 { numbers.counsellorsOnline } else { nil } }
        }
        _ = try await member.log.wait("the counsellor on the other node") { events in counsellorsOnline(events).last == 1 ? true : nil }
        redis.stop()
        // Past the 16 s after which a silent node is forgotten (the node checks every second).
        try await Task.sleep(for: .seconds(20))
        #expect(!counsellorsOnline(member.log.events).contains(0), "the member was told no counsellor is online")
        try redis.start()
        try await hearEachOther(servers)
        #expect(!counsellorsOnline(member.log.events).contains(0))
        withExtendedLifetime(ana) {}
    }

    @Test func anIdentitysHourlyBytesAreOneBudgetOverEveryNode() async throws {
        let redis = try TestRedis()
        let servers = try await nodes(2, redis: redis) { $0.rateLimits.newIdentityMessageBytesPerHour = 25_000 }
        let loop = try ClientLoop()
        let writer = try SigningKeyPair.generate()
        let reader = try TestClient("Calm Heron", loop: loop.loop)
        try await reader.connect(servers[1])
        let onFirst = try TestClient("Loud Crow", loop: loop.loop, identity: writer)
        try await onFirst.connect(servers[0])
        // One message, so what the first node took goes to the other in one word; two such
        // messages are more than the hour holds.
        let long = String(repeating: "z", count: 15_000)
        _ = try await onFirst.client.sendDirect("1 \(long)", to: reader.member)
        // Told to the other node within a second or two (the identity's only spending).
        try await waitFor("the other node to hear what was spent") {
            try servers[1].metric("haven_cluster_budget_spendings_heard_total") > 0 ? true : nil
        }
        let onSecond = try TestClient("Loud Crow", loop: loop.loop, identity: writer)
        try await onSecond.connect(servers[1])
        let refused = ClientError.refused(code: "rate_limited", message: "you have written a great deal this hour; this message was not stored, try again later")
        await #expect(throws: refused, "the second node counts what the first took") {
            _ = try await onSecond.client.sendDirect("2 \(long)", to: reader.member)
        }
        _ = try await onSecond.client.sendDirect("still here", to: reader.member)
    }

    @Test func aModeratorOnOneNodeSuspendsAndBansMembersOnAnother() async throws {
        let organisation = try SigningKeyPair.generate()
        let redis = try TestRedis()
        let servers = try await nodes(2, redis: redis) { $0.organisationPublicKey = organisation.publicKey }
        let lobby = try RoomID("lobby")
        let loop = try ClientLoop()
        let mo = try await servers[0].staffClient(.moderator, "Mo", organisation: organisation, loop: loop)
        _ = try await mo.client.join(lobby)
        await mo.client.waitForKey(lobby)
        let troll = try TestClient("Loud Crow", loop: loop.loop, organisation: organisation.publicKey)
        try await troll.enter(servers[1], room: lobby)
        _ = try await troll.client.send("first", to: lobby)
        try await mo.client.moderate(.suspend, target: troll.member, until: 4_000_000_000)
        // The troll's node hears the suspension: they may read but not post.
        try await waitFor("the suspension to reach the troll's node") { () -> Bool? in
            do {
                _ = try await troll.client.send("still posting?", to: lobby)
                return nil
            } catch ClientError.refused(let code, _) where code == "suspended" {
                return true
            }
        }
        try await mo.client.moderate(.ban, target: troll.member)
        _ = try await troll.log.wait("the disconnect on the other node") { events in
            events.contains { if case .disconnected(let code) = $0 { code == WebSocketCloseCode.policyViolation.rawValue } else { false } } ? true : nil
        }
        await #expect(throws: ClientError.refused(code: "banned", message: "this identity is banned")) {
            try await troll.client.connect(host: "127.0.0.1", port: servers[1].port)
        }
    }

    @Test func aWorryingReportOnOneNodeAlertsCounsellorsOnAnother() async throws {
        let organisation = try SigningKeyPair.generate()
        let redis = try TestRedis()
        let servers = try await nodes(2, redis: redis) { $0.organisationPublicKey = organisation.publicKey }
        let room = try RoomID("lobby")
        let loop = try ClientLoop()
        let ana = try await servers[0].staffClient(.counsellor, "Ana", organisation: organisation, loop: loop)
        let worried = try TestClient("Kind Wren", loop: loop.loop, organisation: organisation.publicKey)
        let struggling = try TestClient("Grey Heron", loop: loop.loop, organisation: organisation.publicKey)
        try await worried.enter(servers[1], room: room)
        try await struggling.enter(servers[1], room: room)
        let id = MessageID.random()
        _ = try await struggling.client.send("I don't see the point any more", to: room, id: id)
        _ = try await worried.waitForTexts(1, in: room)
        try await worried.client.reportRoomMessage(id, sender: struggling.member, in: room, category: .selfHarmRisk)
        let concern = try await ana.log.wait("the counsellor on the other node is alerted") { events in
            events.compactMap { if case .concern(let concern) = $0 { concern } else { nil } }.first
        }
        #expect(concern.member == struggling.member && concern.message == id && concern.room == room && concern.displayName == "Grey Heron")
    }

    @Test func aPrivateRoomAdmitsAcrossNodesAndAnUninvitedJoinIsNeverAnnounced() async throws {
        let organisation = try SigningKeyPair.generate()
        let redis = try TestRedis()
        let servers = try await nodes(2, redis: redis) {
            $0.organisationPublicKey = organisation.publicKey
            $0.rateLimits = .unlimited
            $0.roomReloadMilliseconds = 200
        }
        let loop = try ClientLoop()
        let ana = try await servers[0].staffClient(.counsellor, "Ana", organisation: organisation, loop: loop)
        let grief = try RoomID("grief")
        _ = try await ana.client.createRoom(grief, name: "Grief group", kind: "private")
        _ = try await ana.client.join(grief)
        await ana.client.waitForKey(grief)
        let alice = try TestClient("Quiet Otter", loop: loop.loop, organisation: organisation.publicKey)
        try await alice.connect(servers[1])
        // The other node picks the new room up at its next room reload (a fifth of a second here).
        try await waitFor("the room on the other node") { () -> Bool? in
            do {
                _ = try await alice.client.join(grief)
                return nil
            } catch ClientError.refused(let code, _) where code == "unknown_room" {
                return nil
            } catch ClientError.refused(let code, _) where code == "not_invited" {
                return true
            }
        }
        try await ana.client.moderate(.admit, room: grief, target: alice.member)
        _ = try await alice.client.join(grief)
        await alice.client.waitForKey(grief)
        _ = try await ana.client.send("welcome to the group", to: grief)
        #expect(try await alice.waitForTexts(1, in: grief) == ["welcome to the group"])
        #expect(ana.log.events.filter { if case .memberJoined(grief, let member) = $0 { member.member == alice.member } else { false } }.count == 1,
                "Ana heard Alice come once: when she was admitted, not when she was turned away")
    }

    @Test func anAddressesMessagesAreOneBudgetOverEveryNodeUnderTheDaysSharedKey() async throws {
        let redis = try TestRedis()
        let servers = try await nodes(2, redis: redis) {
            $0.rateLimits = .unlimited
            $0.rateLimits.addressMessagesPerSecond = 0.001
            $0.rateLimits.addressMessageBurst = 1
        }
        for server in servers {
            try await waitFor("the nodes to agree on the day's address key") {
                try server.server.metricsText().contains("haven_cluster_address_key_shared 1\n") ? true : nil
            }
        }
        // Agreed through the database: Redis, which carries the hashes, never holds the key.
        let keys = try RedisConnection(redis.address).command([Array("KEYS".utf8), Array("*".utf8)])
        #expect(keys == .array([]), "Redis holds \(keys)")
        // Two identities from one network (this machine), one on each node.
        let loop = try ClientLoop()
        let reader = try TestClient("Calm Heron", loop: loop.loop)
        try await reader.connect(servers[1])
        let first = try TestClient("Loud Crow", loop: loop.loop)
        try await first.connect(servers[0])
        let second = try TestClient("Rough Jay", loop: loop.loop)
        try await second.connect(servers[1])
        let heard = { try servers[1].metric("haven_cluster_address_spendings_heard_total") }
        // The first connection's spending reaches the second node, then the messages' does.
        try await waitFor("the other node to hear of the first connection") { try heard() >= 1 ? true : nil }
        let before = try heard()
        // One message spends the network's burst, so one word of the first node's carries it all.
        _ = try await first.client.sendDirect("0", to: reader.member)
        try await waitFor("the other node to hear what the message spent") { try heard() > before ? true : nil }
        await #expect("the network's burst was spent on the other node") {
            _ = try await second.client.sendDirect("1", to: reader.member)
        } throws: { error in
            guard case .refused(let code, let message) = error as? ClientError else { return false }
            return code == "rate_limited" && message == "sending too fast; this message was not stored"
        }
    }

    @Test func membersJoiningOnTwoNodesAtOnceAllGetTheKeyAndOneLog() async throws {
        let redis = try TestRedis()
        let servers = try await nodes(2, redis: redis)
        let lobby = try RoomID("lobby")
        let clients = try ClientLoop()
        let alice = try TestClient("Quiet Otter", loop: clients.loop)
        try await alice.enter(servers[0], room: lobby)
        let newcomers = try ["Calm Heron", "Gentle Fox", "Steady Wren", "Kind Owl"].map { try TestClient($0, loop: clients.loop) }
        for (index, newcomer) in newcomers.enumerated() { try await newcomer.connect(servers[index % 2]) }
        // Their join entries race for the same places in the room's log, from both nodes.
        try await withThrowingTaskGroup(of: Void.self) { group in
            for newcomer in newcomers { group.addTask { _ = try await newcomer.client.join(lobby) } }
            try await group.waitForAll()
        }
        for newcomer in newcomers { await newcomer.client.waitForKey(lobby) }
        _ = try await alice.client.send("welcome, all of you", to: lobby)
        for newcomer in newcomers { #expect(try await newcomer.waitForTexts(1, in: lobby) == ["welcome, all of you"]) }
        for client in [alice] + newcomers {
            #expect(client.warnings(in: lobby).isEmpty, "\(client.warnings(in: lobby))")
        }
    }

    @Test func aNodeWithRedisButNoSharedDatabaseRefusesToStart() throws {
        let redis = try TestRedis()
        #expect(throws: ClusterError.needsSharedDatabase) {
            try TestServer { $0.cluster = ClusterSettings(redis: redis.address) }
        }
    }
}
