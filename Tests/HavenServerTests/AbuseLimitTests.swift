import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import HavenClient
import HavenNet
import HavenProtocol
import HavenServer
import HavenStore
import HavenTestSupport
import Sodium
import Testing

/// What one visitor can take from everyone else over HTTP: connections held open, bodies the
/// server must read, attachments it must keep (issue 12). Each flood is counted where it lands.
@Suite struct AbuseLimitTests {
    func storedBlobs(_ server: TestServer) throws -> Int64 { try server.count("SELECT COUNT(*) FROM blobs") }

    @Test func messagesHaveBytesForTheHourSoNobodyFillsTheDisk() async throws {
        let server = try TestServer { $0.rateLimits.newIdentityMessageBytesPerHour = 40_000 }
        let loop = try ClientLoop()
        let lobby = try RoomID("lobby")
        let writer = try TestClient("Loud Crow", loop: loop.loop)
        try await writer.enter(server, room: lobby)
        let long = String(repeating: "z", count: 15_000)
        for index in 0..<2 { _ = try await writer.client.send("\(index) \(long)", to: lobby) }
        let refused = ClientError.refused(code: "rate_limited", message: "you have written a great deal this hour; this message was not stored, try again later")
        await #expect(throws: refused) { _ = try await writer.client.send("2 \(long)", to: lobby) }
        #expect(try server.count("SELECT COUNT(*) FROM room_messages") == 2)
        // Short words still fit what is left.
        _ = try await writer.client.send("still here", to: lobby)
    }

    @Test func connectionsFromOneNetworkAreCappedFromTheFirstByte() async throws {
        let server = try TestServer {
            $0.network.maxConnectionsPerNetwork = 4
            $0.network.handshakeTimeoutMilliseconds = 120_000   // only a close frees a place here
        }
        // Four connections that never finish a request hold every place this network has, once
        // the server has taken them in (each loop takes its own in turn).
        var silent = try (0..<4).map { _ in try RawSocket(port: server.port) }
        try await waitFor("the four to be accepted") { try server.acceptedPerLoop().reduce(0, +) >= 4 ? true : nil }
        let fifth = try RawSocket(port: server.port)
        fifth.send("GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        let refused = String(decoding: fifth.readToEnd(), as: UTF8.self)
        #expect(refused.hasPrefix("HTTP/1.1 429"), "a fifth connection was served: \(refused.prefix(40))")
        #expect(refused.contains("too_many_connections"))

        // Hung up explicitly (a FIN at once), not left to the socket object's release.
        silent.removeFirst().close()
        let served = try await waitFor("a place to free up", timeout: 60) { () -> String? in
            let socket = try RawSocket(port: server.port)
            socket.send("GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
            let reply = String(decoding: socket.readToEnd(), as: UTF8.self)
            return reply.hasPrefix("HTTP/1.1 200") ? reply : nil
        }
        #expect(served.contains("ok"))
        _ = silent
    }

    @Test func aBodyIsReadOnlyForAnAuthorizedUpload() async throws {
        let server = try TestServer { $0.network.allowedOrigins = ["https://provider.example"] }
        // Headers announcing 5 MB, and no body: the refusal comes before a byte of it is read.
        let socket = try RawSocket(port: server.port)
        socket.send("POST /v1/blobs HTTP/1.1\r\nHost: 127.0.0.1\r\nOrigin: https://provider.example\r\nContent-Length: 5000000\r\n\r\n")
        let unauthorized = String(decoding: socket.readToEnd(), as: UTF8.self)
        #expect(unauthorized.hasPrefix("HTTP/1.1 401"), "\(unauthorized.prefix(40))")
        #expect(unauthorized.contains("Access-Control-Allow-Origin: https://provider.example"), "the widget can read why")

        // Anywhere else a body is small or refused.
        let elsewhere = try RawSocket(port: server.port)
        elsewhere.send("POST /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 100000\r\n\r\n")
        let tooLarge = String(decoding: elsewhere.readToEnd(), as: UTF8.self)
        #expect(tooLarge.hasPrefix("HTTP/1.1 413"), "\(tooLarge.prefix(40))")
        #expect(tooLarge.contains("nosniff"), "refusals carry the safe headers too")
    }

    @Test func anUploadTokenIsUsedUpByItsHeadEvenWithoutABody() async throws {
        let server = try TestServer()
        let loop = try ClientLoop()
        let member = try TestClient("Quiet Otter", loop: loop.loop)
        try await member.connect(server)
        let token = Base64URL.encode(try await member.client.uploadToken().token.bytes)
        let head = "POST /v1/blobs HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer \(token)\r\nContent-Length: 5000000\r\n\r\n"
        do {
            let abandoned = try RawSocket(port: server.port)
            abandoned.send(head)
            // Taken in first (the two may land on different loops): its body is awaited.
            try await waitFor("the first head to be taken") { try server.server.metricsText().contains("\nhaven_uploads_arriving 1\n") ? true : nil }
        }
        let again = try RawSocket(port: server.port)
        again.send(head)
        #expect(String(decoding: again.readToEnd(), as: UTF8.self).hasPrefix("HTTP/1.1 401"), "one token, one upload head")
    }

    @Test func httpRequestsFromOneNetworkHaveABudget() async throws {
        let server = try TestServer {
            $0.rateLimits.addressRequestBurst = 5
            $0.rateLimits.addressRequestsPerSecond = 0.01
        }
        var statuses: [Int] = []
        for _ in 0..<8 {
            let socket = try RawSocket(port: server.port)
            socket.send("GET /v1/availability HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
            let reply = String(decoding: socket.readToEnd(), as: UTF8.self)
            statuses.append(Int(reply.dropFirst(9).prefix(3)) ?? 0)
        }
        #expect(statuses == [200, 200, 200, 200, 200, 429, 429, 429])
    }

    @Test func uploadsHaveAnHourlyBudgetPerIdentity() async throws {
        let server = try TestServer { $0.attachments.uploadsPerHour = 3 }
        let loop = try ClientLoop()
        let member = try TestClient("Quiet Otter", loop: loop.loop)
        try await member.connect(server)
        for _ in 0..<3 { #expect(try await server.upload(randomBytes: 1000, as: member).status == 201) }
        let fourth = try await server.upload(randomBytes: 1000, as: member)
        #expect(fourth.status == 429 && fourth.error == "too_many_uploads")
        #expect(try storedBlobs(server) == 3)
    }

    @Test func uploadsFromOneNetworkHaveAnHourlyBudgetWhateverTheIdentity() async throws {
        let server = try TestServer { $0.attachments.addressBytesPerHour = 250_000 }
        let loop = try ClientLoop()
        var accepted = 0
        for index in 0..<4 {
            let throwaway = try TestClient("Throwaway \(index)", loop: loop.loop)
            try await throwaway.connect(server)
            if try await server.upload(randomBytes: 100_000, as: throwaway).status == 201 { accepted += 1 }
        }
        #expect(accepted == 2)
        #expect(try storedBlobs(server) == 2)
    }

    @Test func anIdentityKeepsAtMostItsQuotaStored() async throws {
        let server = try TestServer { $0.attachments.storedPerIdentity = 2 }
        let loop = try ClientLoop()
        let member = try TestClient("Quiet Otter", loop: loop.loop)
        try await member.connect(server)
        for _ in 0..<2 { #expect(try await server.upload(randomBytes: 1000, as: member).status == 201) }
        let third = try await server.upload(randomBytes: 1000, as: member)
        #expect(third.status == 429 && third.error == "attachment_quota")
        #expect(try storedBlobs(server) == 2)
    }

    @Test func fullAttachmentsNeverStopMessages() async throws {
        let server = try TestServer { $0.attachments.totalBytes = 150_000 }
        let loop = try ClientLoop()
        let lobby = try RoomID("lobby")
        let member = try TestClient("Quiet Otter", loop: loop.loop)
        try await member.enter(server, room: lobby)
        let reader = try TestClient("Calm Heron", loop: loop.loop)
        try await reader.enter(server, room: lobby)
        #expect(try await server.upload(randomBytes: 100_000, as: member).status == 201)
        let refused = try await server.upload(randomBytes: 100_000, as: member)
        #expect(refused.status == 507 && refused.error == "attachments_full")
        #expect(try storedBlobs(server) == 1)
        _ = try await member.client.send("messages still go through", to: lobby)
        #expect(try await reader.waitForTexts(1, in: lobby) == ["messages still go through"])
    }
}
