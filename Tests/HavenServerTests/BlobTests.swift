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

/// Attachments travel as opaque ciphertext, only with a token from a logged-in session.
@Suite struct BlobTests {
    func request(_ server: TestServer, _ method: String, _ path: String, token: String?, body: Data? = nil) async throws -> (Int, Data) {
        let (status, data, _) = try await exchange(server, method, path, token: token, body: body)
        return (status, data)
    }

    func exchange(_ server: TestServer, _ method: String, _ path: String, token: String?, body: Data? = nil) async throws -> (Int, Data, HTTPURLResponse?) {
        var request = URLRequest(url: URL(string: "http://127.0.0.1:\(server.port)\(path)")!)
        request.httpMethod = method
        request.httpBody = body
        if let token { request.setValue("Bearer \(token)", forHTTPHeaderField: "Authorization") }
        let (data, response) = try await URLSession.shared.data(for: request)
        let http = response as? HTTPURLResponse
        return (http?.statusCode ?? 0, data, http)
    }

    @Test func encryptedAttachmentRoundTripsWithATokenOnly() async throws {
        let server = try TestServer()
        let loop = try ClientLoop()
        let alice = try TestClient("Quiet Otter", loop: loop.loop)
        try await alice.connect(server)

        // Encrypted on the device with secretstream under a fresh key; the server gets ciphertext.
        let key = try SecretBytes.random(count: SecretStream.keyLength)
        let pusher = try SecretStreamPusher(key: key)
        let file = Array("%PDF-1.4 a small document".utf8)
        let ciphertext = pusher.header + pusher.push(file, isFinal: true)

        #expect(try await request(server, "POST", "/v1/blobs", token: nil, body: Data(ciphertext)).0 == 401)
        #expect(try await request(server, "POST", "/v1/blobs", token: "bm90IGEgdG9rZW4", body: Data(ciphertext)).0 == 401)
        let token = Base64URL.encode(try await alice.client.uploadToken().token.bytes)
        let (status, answer) = try await request(server, "POST", "/v1/blobs", token: token, body: Data(ciphertext))
        #expect(status == 201)
        let blob = try #require((try JSONSerialization.jsonObject(with: answer) as? [String: String])?["blob"])

        // A token uploads once; the session asks for another to fetch (or upload) again.
        #expect(try await request(server, "POST", "/v1/blobs", token: token, body: Data(ciphertext)).0 == 401)
        let fetchToken = Base64URL.encode(try await alice.client.uploadToken().token.bytes)
        let (fetched, data, response) = try await exchange(server, "GET", "/v1/blobs/\(blob)", token: fetchToken)
        #expect(fetched == 200)
        // Ciphertext served from the widget's origin is a download a browser never shows or runs.
        #expect(response?.value(forHTTPHeaderField: "Content-Disposition") == "attachment")
        #expect(response?.value(forHTTPHeaderField: "Content-Security-Policy") == "default-src 'none'; sandbox")
        #expect(response?.value(forHTTPHeaderField: "X-Content-Type-Options") == "nosniff")
        let puller = try SecretStreamPuller(key: key, header: Array(data.prefix(SecretStream.headerLength)))
        #expect(try puller.pull(Array(data.dropFirst(SecretStream.headerLength))) == file)
        try puller.finish()
        #expect(try await request(server, "GET", "/v1/blobs/\(blob)", token: nil).0 == 401)
        #expect(try await request(server, "GET", "/v1/blobs/AAAAAAAAAAAAAAAAAAAAAA", token: fetchToken).0 == 404)

        // Tokens end with the session that asked for them, and a session holds a few at most.
        for _ in 0..<7 { _ = try await alice.client.uploadToken() }
        await #expect(throws: ClientError.self) { try await alice.client.uploadToken() }
        await alice.client.disconnect()
        try await waitFor("the session's tokens to end") {
            try await request(server, "GET", "/v1/blobs/\(blob)", token: fetchToken).0 == 401 ? true : nil
        }

        let raw = [server.databasePath, server.databasePath + "-wal"].compactMap { FileManager.default.contents(atPath: $0) }.reduce(Data(), +)
        #expect(raw.range(of: Data("%PDF-1.4".utf8)) == nil, "the server holds only ciphertext")
    }

    @Test func aLargeAttachmentReachesASlowPhoneAPartAtATime() async throws {
        // A peer gets a second per part it reads, not a second for the whole answer.
        let server = try TestServer {
            $0.network.handshakeTimeoutMilliseconds = 1_000
            $0.network.answerTimeoutMilliseconds = 1_000
        }
        let loop = try ClientLoop()
        let alice = try TestClient("Quiet Otter", loop: loop.loop)
        try await alice.connect(server)
        let attachment = RandomBytes.bytes(count: 10 * 1024 * 1024)
        let blob = try #require(try await server.upload(attachment, as: alice).blob)

        let token = Base64URL.encode(try await alice.client.uploadToken().token.bytes)
        let port = server.port
        // About 1.3 MB/s: eight seconds for the attachment, well past the one-second deadline; its
        // end waits in the server's queue behind what the kernel holds, and arrives too (a phone
        // review lost the end of images to a clock started before the answer was written out).
        let received = await onOwnThread { () -> [UInt8] in
            guard let socket = try? RawSocket(port: port) else { return [] }
            socket.send("GET /v1/blobs/\(blob) HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer \(token)\r\nConnection: close\r\n\r\n")
            var bytes: [UInt8] = []
            while case let part = socket.read(upTo: 64 * 1024), !part.isEmpty {
                bytes += part
                Thread.sleep(forTimeInterval: 0.05)
            }
            return bytes
        }
        let headEnd = try #require(received.firstRange(of: Array("\r\n\r\n".utf8)))
        #expect(String(decoding: received[..<headEnd.lowerBound], as: UTF8.self).hasPrefix("HTTP/1.1 200"))
        let body = Array(received[headEnd.upperBound...])
        #expect(body.count == attachment.count, "the download was cut off after \(body.count) bytes")
        let intact = body == attachment
        #expect(intact, "the attachment came back changed")
    }

    @Test func aNetworksDownloadsArePaidForBeforeTheyAreRead() async throws {
        let size = 1024 * 1024
        let server = try TestServer { $0.attachments.addressDownloadBytesPerHour = Double(size) * 1.5 }
        let loop = try ClientLoop()
        let alice = try TestClient("Quiet Otter", loop: loop.loop)
        try await alice.connect(server)
        let blob = try #require(try await server.upload(randomBytes: size, as: alice).blob)
        let token = Base64URL.encode(try await alice.client.uploadToken().token.bytes)
        let (first, data) = try await request(server, "GET", "/v1/blobs/\(blob)", token: token)
        #expect(first == 200 && data.count == size)
        // Half an attachment left in the hour does not buy a whole one.
        #expect(try await request(server, "GET", "/v1/blobs/\(blob)", token: token).0 == 429)
    }
}
