import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import HavenClient
import HavenProtocol
import Sodium

/// What the server answered an upload.
public struct UploadAnswer: Sendable {
    /// The HTTP status; 0 when the connection was reset (a refusal answered from the head can
    /// reach a client still sending its body as a reset).
    public let status: Int
    /// The error code of a refusal.
    public let error: String?
    /// The stored attachment's id.
    public let blob: String?
}

extension TestServer {
    /// Uploads `bytes` as `client`'s attachment, with a fresh token from its session.
    public func upload(_ bytes: [UInt8], as client: TestClient) async throws -> UploadAnswer {
        let token = Base64URL.encode(try await client.client.uploadToken().token.bytes)
        var request = URLRequest(url: URL(string: "http://127.0.0.1:\(port)/v1/blobs")!)
        request.httpMethod = "POST"
        request.httpBody = Data(bytes)
        request.setValue("Bearer \(token)", forHTTPHeaderField: "Authorization")
        let data: Data
        let response: URLResponse
        do {
            (data, response) = try await URLSession.shared.data(for: request)
        } catch let error as URLError where error.code == .networkConnectionLost {
            return UploadAnswer(status: 0, error: "reset", blob: nil)
        }
        let fields = (try? JSONSerialization.jsonObject(with: data) as? [String: String]) ?? [:]
        return UploadAnswer(status: (response as? HTTPURLResponse)?.statusCode ?? 0, error: fields["error"], blob: fields["blob"])
    }

    /// Uploads `count` random bytes as `client`'s attachment.
    public func upload(randomBytes count: Int, as client: TestClient) async throws -> UploadAnswer {
        try await upload(RandomBytes.bytes(count: count), as: client)
    }
}
