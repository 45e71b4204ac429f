import Foundation
import FoundationNetworking
import HavenClient
import HavenNet
import HavenProtocol
import HavenServer
import HavenStore
import HavenTestSupport
import Sodium
import Testing

/// Abuse-proof defaults (issue 12, first part): every response says not to sniff, refer or run;
/// blobs are downloads in a sandbox; /metrics is for this machine (or a token); the data folder
/// and database are their owner's alone; secret files other users can read are refused.
@Suite struct HardeningTests {
    func get(_ port: Int, _ path: String, host: String = "127.0.0.1", headers: [String: String] = [:]) async throws -> HTTPURLResponse {
        var request = URLRequest(url: URL(string: "http://\(host):\(port)\(path)")!)
        for (name, value) in headers { request.setValue(value, forHTTPHeaderField: name) }
        let (_, response) = try await URLSession.shared.data(for: request)
        return try #require(response as? HTTPURLResponse)
    }

    /// An IPv4 address of this machine other than loopback, to be a "remote" peer of a server
    /// listening on every address.
    func nonLoopbackAddress() throws -> String {
        var interfaces: UnsafeMutablePointer<ifaddrs>?
        guard getifaddrs(&interfaces) == 0 else { throw POSIXError(.EIO) }
        defer { freeifaddrs(interfaces) }
        var next = interfaces
        while let interface = next {
            defer { next = interface.pointee.ifa_next }
            guard let address = interface.pointee.ifa_addr, address.pointee.sa_family == sa_family_t(AF_INET) else { continue }
            var text = [CChar](repeating: 0, count: Int(INET_ADDRSTRLEN))
            var ipv4 = address.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { $0.pointee.sin_addr }
            inet_ntop(AF_INET, &ipv4, &text, socklen_t(INET_ADDRSTRLEN))
            let string = String(decoding: text.prefix { $0 != 0 }.map(UInt8.init), as: UTF8.self)
            if !string.hasPrefix("127.") { return string }
        }
        throw POSIXError(.EADDRNOTAVAIL)
    }

    @Test func everyResponseSaysNotToSniffReferOrRun() async throws {
        let server = try TestServer()
        for path in ["/healthz", "/config.json", "/v1/availability", "/no-such-thing", "/"] {
            let response = try await get(server.port, path)
            #expect(response.value(forHTTPHeaderField: "X-Content-Type-Options") == "nosniff", "\(path)")
            #expect(response.value(forHTTPHeaderField: "Referrer-Policy") == "no-referrer", "\(path)")
            #expect(response.value(forHTTPHeaderField: "Content-Security-Policy")?.contains("default-src 'none'") == true, "\(path)")
        }
    }

    @Test func behindTLSBrowsersAreToldToKeepToIt() async throws {
        let direct = try TestServer()
        let forged = try await get(direct.port, "/healthz", headers: ["X-Forwarded-Proto": "https"])
        #expect(forged.value(forHTTPHeaderField: "Strict-Transport-Security") == nil, "only a trusted proxy's word counts")
        let proxied = try TestServer { $0.network.trustedProxies = [[127, 0, 0, 1]] }
        let overTLS = try await get(proxied.port, "/", headers: ["X-Forwarded-Proto": "https", "X-Forwarded-For": "203.0.113.7"])
        #expect(overTLS.value(forHTTPHeaderField: "Strict-Transport-Security") == "max-age=31536000")
        let plain = try await get(proxied.port, "/", headers: ["X-Forwarded-Proto": "http", "X-Forwarded-For": "203.0.113.7"])
        #expect(plain.value(forHTTPHeaderField: "Strict-Transport-Security") == nil)
    }

    @Test func metricsAreForThisMachineOrTheTokenOnly() async throws {
        let token = Array("a-long-random-metrics-token".utf8)
        let server = try TestServer {
            $0.network.host = "0.0.0.0"
            $0.metricsToken = token
        }
        #expect(try await get(server.port, "/metrics").statusCode == 200, "a scraper on this machine reads them")
        let remote = try nonLoopbackAddress()
        #expect(try await get(server.port, "/metrics", host: remote).statusCode == 403, "from elsewhere, not without the token")
        #expect(try await get(server.port, "/metrics", host: remote, headers: ["Authorization": "Bearer wrong-token"]).statusCode == 403)
        #expect(try await get(server.port, "/metrics", host: remote, headers: ["Authorization": "Bearer a-long-random-metrics-token"]).statusCode == 200)
        #expect(try await get(server.port, "/healthz", host: remote).statusCode == 200, "everything else is served as before")
    }

    @Test func theDataFolderAndDatabaseAreTheirOwnersAlone() async throws {
        let server = try TestServer()
        let loop = try ClientLoop()
        let member = try TestClient("Quiet Otter", loop: loop.loop)
        try await member.enter(server, room: try .init("lobby"))
        _ = try await member.client.send("a message, so the journal exists", to: try .init("lobby"))
        let mode = { (path: String) in (try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int) ?? -1 }
        #expect(try mode(server.directory) == 0o700)
        #expect(try mode(server.databasePath) == 0o600)
        #expect(try mode(server.databasePath + "-wal") == 0o600)
    }

    @Test func secretFilesOtherUsersCanReadAreRefused() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("secrets-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let secret = folder + "/turn.secret"
        try "a shared secret\n".write(toFile: secret, atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: secret)
        let config = folder + "/haven.toml"
        try "[turn]\nurls = [\"turn:127.0.0.1:3478\"]\nsecret_file = \"\(secret)\"\n".write(toFile: config, atomically: true, encoding: .utf8)

        let refused = try ServerProcess.run(["serve", "--config", config, "--data", folder + "/data", "--listen", "127.0.0.1:0"])
        #expect(refused.status != 0)
        #expect(refused.errors.contains("other users can read it (mode 644): run chmod 600 \(secret)"), "\(refused.errors)")

        let passphrase = folder + "/passphrase"
        try "correct horse battery staple\n".write(toFile: passphrase, atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: 0o640], ofItemAtPath: passphrase)
        let keys = try ServerProcess.run(["keys", "init", "--keys", folder + "/Keys", "--passphrase-file", passphrase])
        #expect(keys.status != 0)
        #expect(keys.errors.contains("run chmod 600 \(passphrase)"), "\(keys.errors)")
    }

    @Test func directMessagesGoOnlyToIdentitiesThatLoggedIn() async throws {
        let server = try TestServer()
        let loop = try ClientLoop()
        let sender = try TestClient("Quiet Otter", loop: loop.loop)
        try await sender.connect(server)
        let nobody = MemberID(try SigningKeyPair.generate().publicKey)
        let id = MessageID.random()
        await #expect(throws: ClientError.refused(code: "unknown_recipient", message: "there is no member with this key")) {
            _ = try await sender.client.sendDirect("into the void", to: nobody, id: id)
        }
        let store = try HavenStore(path: server.databasePath)
        defer { store.close() }
        #expect(try store.performAndWait { try $0.directMessage(messageID: id.bytes, recipient: nobody.bytes) } == nil,
                "nothing stored")
    }

    @Test func joiningAndLeavingOverAndOverIsSlowedDown() async throws {
        let server = try TestServer()
        let loop = try ClientLoop()
        let lobby = try RoomID("lobby")
        let watcher = try TestClient("Quiet Otter", loop: loop.loop)
        try await watcher.enter(server, room: lobby)
        let flooder = try TestClient("Loud Crow", loop: loop.loop)
        try await flooder.connect(server)
        let started = ContinuousClock.now
        for _ in 0..<40 {
            await flooder.client.sendRaw(#"{"v":1,"type":"join","room":"lobby"}"#)
            await flooder.client.sendRaw(#"{"v":1,"type":"leave","room":"lobby"}"#)
        }
        _ = try await flooder.log.wait("a refusal") { events in
            events.contains { if case .serverError(let error) = $0 { error.code == "rate_limited" } else { false } } ? true : nil
        }
        let arrivals = watcher.log.events.filter { if case .memberJoined(_, let member) = $0 { member.member == flooder.member } else { false } }
        let refilled = Int((ContinuousClock.now - started).components.seconds) + 1
        #expect(arrivals.count <= 10 + refilled,
                "the room heard \(arrivals.count) arrivals of one flooding connection in \(refilled) s (a burst of 10 joins, then 1 change a second)")
    }

    @Test func everyOtherFrameHasABudgetAndAFlooderIsCutOff() async throws {
        let server = try TestServer()
        let loop = try ClientLoop()
        let lobby = try RoomID("lobby")
        let (flooder, _) = try await RawWebSocket.loggedIn(to: server, loop: loop.loop)
        // All at once, as a flood comes: a machine busy with other tests must not space them out
        // so far that the budget refills between them.
        flooder.send(Array(repeating: #"{"v":1,"type":"listRooms"}"#, count: 200))
        #expect(try await flooder.waitForClose() == WebSocketCloseCode.rateLimited.rawValue)
        let refusals = flooder.frames.filter { $0.contains(#""code":"rate_limited""#) }
        #expect(refusals.count > 50, "a new identity's 200 requests in a row were refused \(refusals.count) times")

        let other = try TestClient("Quiet Otter", loop: loop.loop)
        try await other.enter(server, room: lobby)
        _ = try await other.client.send("the room still works for everyone else", to: lobby)
        #expect(try await other.client.rooms().contains { $0.room == lobby })
    }

    @Test func aMemberWhoLeftLeavesNoBundleOfTheCurrentKeyBehind() async throws {
        let server = try TestServer()
        let loop = try ClientLoop()
        let lobby = try RoomID("lobby")
        let alice = try TestClient("Quiet Otter", loop: loop.loop)
        try await alice.enter(server, room: lobby)
        let bob = try TestClient("Calm Heron", loop: loop.loop)
        try await bob.enter(server, room: lobby)
        await bob.client.waitForKey(lobby)
        let hex = bob.member.bytes.map { String(format: "%02x", $0) }.joined()
        let bobsBundles = "SELECT COUNT(*) FROM key_bundles WHERE recipient = x'\(hex)'"
        #expect(try server.count(bobsBundles) >= 1)
        try await bob.client.leave(lobby)
        _ = try await waitFor("Bob's bundles to be forgotten") { try server.count(bobsBundles) == 0 ? true : nil }
        // Alice moves the room to a new key without Bob, and goes on.
        await alice.client.waitForKey(lobby)
        _ = try await alice.client.send("the room goes on", to: lobby)
    }

    @Test func behindATrustedProxyEachVisitorHasTheirOwnLimits() async throws {
        let server = try TestServer {
            $0.network.trustedProxies = [[127, 0, 0, 1]]
            $0.rateLimits.addressConnectionBurst = 2
            $0.rateLimits.addressConnectionsPerSecond = 0.001
        }
        // Through the proxy on this machine: X-Forwarded-For names each visitor.
        func upgrade(from visitor: String) throws -> String {
            let socket = try RawSocket(port: server.port)
            socket.send(RawSocket.upgradeRequest(extra: "X-Forwarded-For: \(visitor)\r\n"))
            return String(decoding: socket.read(atLeast: 180), as: UTF8.self)
        }
        for _ in 0..<2 { #expect(try upgrade(from: "203.0.113.7").contains("challenge")) }
        #expect(try upgrade(from: "203.0.113.7").contains("too many connections from this network"), "the flooding visitor is held back")
        #expect(try upgrade(from: "198.51.100.20").contains("challenge"), "the next visitor is not locked out with them")
        #expect(try upgrade(from: "2001:db8:1:2::5").contains("challenge"))
        // A proxy that adds its own line after the client's: the client's words come first and do
        // not count, whatever address they name.
        func upgrade(claiming claimed: String, from visitor: String) throws -> String {
            let socket = try RawSocket(port: server.port)
            socket.send(RawSocket.upgradeRequest(extra: "X-Forwarded-For: \(claimed)\r\nX-Forwarded-For: \(visitor)\r\n"))
            return String(decoding: socket.read(atLeast: 180), as: UTF8.self)
        }
        #expect(try upgrade(claiming: "192.0.2.77", from: "203.0.113.7").contains("too many connections"), "a spoofed first line is not the client")
        #expect(try upgrade(claiming: "203.0.113.7", from: "192.0.2.55").contains("challenge"), "nor can it pin its limits on someone else")

        // Metrics are for this machine, not for anyone the proxy forwards (or forwards unnamed).
        #expect(try await get(server.port, "/metrics", headers: ["X-Forwarded-For": "203.0.113.9"]).statusCode == 403)
        #expect(try await get(server.port, "/metrics").statusCode == 403, "a proxied request that names no client is nobody's")
        #expect(try await get(server.port, "/healthz").statusCode == 200)
    }
}
