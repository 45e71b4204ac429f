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

/// An upload's body keeps coming or is dropped, a dropped one costs nothing, and only a few
/// bodies (each held in memory until stored) arrive at once.
@Suite struct UploadTests {
    /// A raw upload of `length` bytes under a fresh token: its head and the first `sent` bytes.
    func startUpload(_ server: TestServer, _ member: TestClient, length: Int, sent: Int) async throws -> RawSocket {
        let token = Base64URL.encode(try await member.client.uploadToken().token.bytes)
        let socket = try RawSocket(port: server.port)
        socket.send("POST /v1/blobs HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer \(token)\r\nConnection: close\r\nContent-Length: \(length)\r\n\r\n")
        socket.send([UInt8](repeating: 1, count: sent))
        return socket
    }

    /// A server whose uploads must bring 100 kB in each one-second window, with a member logged in
    /// (keep the client loop as long as the member).
    func serverWithOneSecondWindows() async throws -> (TestServer, TestClient, ClientLoop) {
        let server = try TestServer {
            $0.network.handshakeTimeoutMilliseconds = 1_000
            $0.network.minUploadBytesPerSecond = 100_000
        }
        let loop = try ClientLoop()
        let member = try TestClient("Quiet Otter", loop: loop.loop)
        try await member.connect(server)
        return (server, member, loop)
    }

    @Test func aSlowUploadKeepsGoingWhileItsBodyKeepsComing() async throws {
        // Each second must bring 100 kB; this one takes two seconds in all, in steps.
        let (server, member, clients) = try await serverWithOneSecondWindows()
        defer { withExtendedLifetime(clients) {} }
        let socket = try await startUpload(server, member, length: 500_000, sent: 100_000)
        // Paced on a thread of its own: the shared task pool may be held up by other suites.
        let answer = await onOwnThread {
            for _ in 0..<4 {
                Thread.sleep(forTimeInterval: 0.5)
                socket.send([UInt8](repeating: 2, count: 100_000))
            }
            return String(decoding: socket.readToEnd(), as: UTF8.self)
        }
        #expect(answer.hasPrefix("HTTP/1.1 201"), "\(answer.prefix(40))")
    }

    /// While the store is behind, the server stops reading an upload: the body's clock waits
    /// meanwhile (the member is not slow, the server is), on the core's loop and on any other.
    /// The store is held up by another connection holding the database's write lock for three
    /// seconds, three of the one-second windows each of which must bring 100 kB.
    @Test(arguments: [0, 1]) func anUploadHeldBackByABusyStoreIsNotDroppedAsSlow(onLoop index: Int) async throws {
        let (server, member, clients) = try await serverWithOneSecondWindows()
        defer { withExtendedLifetime(clients) {} }
        let token = Base64URL.encode(try await member.client.uploadToken().token.bytes)
        // The answer follows the store's writing of every part, slow on a loaded machine.
        let socket = try await server.connection(onLoop: index, { try RawSocket(port: server.port, timeoutSeconds: 60) }, discard: { $0.close() })
        let blocker = try SQLiteConnection(path: server.databasePath)
        try blocker.execute("BEGIN IMMEDIATE")
        let body = [UInt8](repeating: 3, count: 2_000_000)
        socket.send("POST /v1/blobs HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer \(token)\r\nConnection: close\r\nContent-Length: \(body.count)\r\n\r\n")
        // The send blocks until the server reads again: on a thread of its own, never the task pool's.
        let answering = Task { await onOwnThread { socket.send(body); return String(decoding: socket.readToEnd(), as: UTF8.self) } }
        try await Task.sleep(for: .seconds(3))
        try blocker.execute("COMMIT")
        let answer = await answering.value
        #expect(answer.hasPrefix("HTTP/1.1 201"), "\(answer.prefix(40))")
    }

    @Test func aBodyThatStopsComingIsDroppedAndOnlyWhatItUsedIsPaidFor() async throws {
        let server = try TestServer {
            $0.network.handshakeTimeoutMilliseconds = 1_000
            $0.network.minUploadBytesPerSecond = 100_000
            $0.attachments.uploadsPerHour = 2
        }
        let loop = try ClientLoop()
        let member = try TestClient("Quiet Otter", loop: loop.loop)
        try await member.connect(server)
        // A head and next to nothing (a connection lost at once): dropped within a window, and free.
        let lost = try await startUpload(server, member, length: 3_000_000, sent: 10_000)
        #expect(await onOwnThread { lost.readToEnd() }.isEmpty, "a stalled upload was answered")
        // Half of a 3 MB body, then nothing: dropped within a window, not after the 30 s the whole
        // size would take at the slowest rate; its parts are deleted, and it costs an upload.
        let stalled = try await startUpload(server, member, length: 3_000_000, sent: 1_500_000)
        #expect(await onOwnThread { stalled.readToEnd() }.isEmpty, "a stalled upload was answered")
        try await waitFor("the dropped upload's parts to go") { try server.count("SELECT COUNT(*) FROM blob_parts") == 0 ? true : nil }
        #expect(try server.count("SELECT COUNT(*) FROM blobs") == 0)

        #expect(try await server.upload(randomBytes: 1000, as: member).status == 201, "the hour's second upload")
        #expect(try await server.upload(randomBytes: 1000, as: member).status == 429, "the trickled upload was given back")
    }

    @Test func anUploadGoesToTheStoreAsItArrivesNotWholeInMemory() async throws {
        let server = try TestServer()
        let loop = try ClientLoop()
        let member = try TestClient("Quiet Otter", loop: loop.loop)
        try await member.connect(server)
        let arriving = try await startUpload(server, member, length: 1_000_000, sent: 700_000)
        // Ten whole parts of 64 KiB are stored before the body is complete, and nobody can read them.
        try await waitFor("the parts already arrived to be stored") {
            try server.count("SELECT COUNT(*) FROM blob_parts") == 10 ? true : nil
        }
        #expect(try server.count("SELECT COUNT(*) FROM blobs") == 0)
        arriving.send([UInt8](repeating: 3, count: 300_000))
        let answer = await onOwnThread { String(decoding: arriving.readToEnd(), as: UTF8.self) }
        #expect(answer.hasPrefix("HTTP/1.1 201"), "\(answer.prefix(40))")
        #expect(try server.count("SELECT COUNT(*) FROM blob_parts") == 16)
        #expect(try server.count("SELECT SUM(size) FROM blobs") == 1_000_000)
    }

    @Test(arguments: [(perAddress: 1, inAll: 5, refusal: 429), (perAddress: 5, inAll: 1, refusal: 503)])
    func onlyAFewUploadsArriveAtOnce(perAddress: Int, inAll: Int, refusal: Int) async throws {
        let server = try TestServer {
            $0.attachments.addressUploadsAtOnce = perAddress
            $0.attachments.uploadsAtOnce = inAll
        }
        let loop = try ClientLoop()
        let member = try TestClient("Quiet Otter", loop: loop.loop)
        try await member.connect(server)
        let arriving = try await startUpload(server, member, length: 200_000, sent: 100_000)
        let busy = try await server.upload(randomBytes: 1000, as: member)
        #expect(busy.status == refusal && busy.error == "uploads_busy")

        arriving.send([UInt8](repeating: 2, count: 100_000))
        let answer = await onOwnThread { String(decoding: arriving.readToEnd(), as: UTF8.self) }
        #expect(answer.hasPrefix("HTTP/1.1 201"), "\(answer.prefix(40))")
        #expect(try await server.upload(randomBytes: 1000, as: member).status == 201, "the place freed when the first arrived")
    }

    @Test func anUploadThatNeverReachesItsAnswerLeavesNothingBehind() async throws {
        let server = try TestServer()
        let loop = try ClientLoop()
        let member = try TestClient("Quiet Otter", loop: loop.loop)
        try await member.connect(server)
        // A whole body, on a request that also asks for a WebSocket: answered as an upgrade, never
        // as an upload (an attacker filled the disk with such parts, found by the second review).
        let token = Base64URL.encode(try await member.client.uploadToken().token.bytes)
        let socket = try RawSocket(port: server.port)
        socket.send("POST /v1/blobs HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer \(token)\r\nUpgrade: websocket\r\n"
            + "Connection: Upgrade\r\nContent-Length: 300000\r\n\r\n")
        socket.send([UInt8](repeating: 7, count: 300_000))
        _ = await onOwnThread { socket.readToEnd() }
        try await waitFor("the parts of the upload nobody answered to go") {
            try server.count("SELECT COUNT(*) FROM blob_parts") == 0 ? true : nil
        }
        #expect(try server.count("SELECT COUNT(*) FROM blobs") == 0)
    }

    @Test func anUploadAdmittedFromItsHeadIsStoredEvenWhenTheNetworksRequestsRunOut() async throws {
        let server = try TestServer {
            $0.rateLimits.addressRequestBurst = 1
            $0.rateLimits.addressRequestsPerSecond = 0.001
        }
        let loop = try ClientLoop()
        let member = try TestClient("Quiet Otter", loop: loop.loop)
        try await member.connect(server)
        let arriving = try await startUpload(server, member, length: 200_000, sent: 100_000)
        // The network's last request goes meanwhile: the upload already had its budget.
        let socket = try RawSocket(port: server.port)
        socket.send("GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
        _ = await onOwnThread { socket.readToEnd() }
        arriving.send([UInt8](repeating: 2, count: 100_000))
        let answer = await onOwnThread { String(decoding: arriving.readToEnd(), as: UTF8.self) }
        #expect(answer.hasPrefix("HTTP/1.1 201"), "\(answer.prefix(40))")
    }

    @Test func anUploadWhosePartsTheFullDiskRefusedIsNotKeptAsIfWhole() async throws {
        // The database's ceiling is reached part-way through the body; the attachments' own
        // quota would still let it in.
        let server = try TestServer {
            $0.store.maxDatabaseBytes = 1024 * 1024
            $0.attachments.totalBytes = 1 << 30
            $0.attachments.reservedFreeBytes = 0
        }
        let loop = try ClientLoop()
        let member = try TestClient("Quiet Otter", loop: loop.loop)
        try await member.connect(server)
        let answer = try await server.upload(randomBytes: 2_000_000, as: member)
        #expect(answer.status != 201, "an attachment missing parts was said to be stored")
        #expect(try server.count("SELECT COUNT(*) FROM blobs") == 0)
    }
}
