import Foundation
import HavenNet
import HavenProtocol
import HavenStore
import Sodium

/// What an attachment token allows, and for whom: it is the session's that asked, and ends with it.
struct UploadGrant {
    let member: MemberID
    let connection: Int
    let expires: Int64
}

extension HavenServer {
    /// Seconds an attachment token stays valid.
    static let tokenLifetime = 600
    /// Attachment tokens one session may hold at once.
    static let tokensPerSession = 8

    /// Gives a logged-in member a short-lived token for attachment downloads and one upload, valid
    /// while the session that asked for it lasts.
    func issueUploadToken(session: Session, member: MemberInfo) {
        let now = configuration.now()
        session.uploadTokens = session.uploadTokens.filter { uploadTokens[$0].map { $0.expires > now } ?? false }
        guard session.uploadTokens.count < Self.tokensPerSession else {
            counters.rateLimited += 1
            refuse(session, code: "too_many_tokens", message: "too many attachment tokens at once; use the ones you have")
            return
        }
        let token = RandomBytes.bytes(count: 32)
        uploadTokens[token] = UploadGrant(member: member.member, connection: session.connection.id, expires: now + Int64(Self.tokenLifetime))
        session.uploadTokens.insert(token)
        send(.uploadToken(UploadToken(token: WireBytes(token), expiresIn: Self.tokenLifetime)), to: session)
    }

    /// A closing session's tokens go with it.
    func dropUploadTokens(of session: Session) {
        for token in session.uploadTokens { uploadTokens[token] = nil }
    }

    /// `POST /v1/blobs` stores an encrypted attachment (opaque bytes) and answers its id;
    /// `GET /v1/blobs/<id>` returns it. Both need a token from the WebSocket session. The server
    /// never sees an attachment's key: it stays inside the end-to-end-encrypted message.
    func serveBlob(_ request: HTTPMessage, reply: @escaping (HTTPResponse) -> Void) {
        let now = configuration.now()
        uploadTokens = uploadTokens.filter { $0.value.expires > now }
        guard let header = request.header("Authorization"), header.hasPrefix("Bearer "),
              let token = try? Base64URL.decode(String(header.dropFirst(7))),
              let grant = uploadTokens[token], sessions[grant.connection] != nil
        else {
            reply(.error(status: 401, code: "unauthorized", message: "an attachment token from the session is needed"))
            return
        }
        switch (request.method, request.path) {
        case ("POST", "/v1/blobs"):
            guard !request.body.isEmpty else {
                reply(.error(status: 400, code: "empty", message: "no attachment in the body"))
                return
            }
            // A token uploads once: the next attachment asks for a new one.
            uploadTokens[token] = nil
            sessions[grant.connection]?.uploadTokens.remove(token)
            let owner = grant.member
            let id = RandomBytes.bytes(count: 16)
            let body = request.body
            withStore({ try $0.storeBlob(id: id, owner: owner.bytes, data: body, now: now) }) { result in
                switch result {
                case .success:
                    reply(HTTPResponse(status: 201, headers: ["Content-Type": "application/json"],
                                       body: Array(#"{"blob":"\#(Base64URL.encode(id))"}"#.utf8)))
                case .failure:
                    reply(.error(status: 503, code: "store_failed", message: "the attachment could not be stored"))
                }
            }
        case ("GET", let path) where path.hasPrefix("/v1/blobs/"):
            guard let id = try? Base64URL.decode(String(path.dropFirst("/v1/blobs/".count))), id.count == 16 else {
                reply(.error(status: 404, code: "not_found", message: "no such attachment"))
                return
            }
            withStore({ try $0.blob(id: id) }) { result in
                guard case .success(let data?) = result else {
                    reply(.error(status: 404, code: "not_found", message: "no such attachment (it may have expired)"))
                    return
                }
                // Ciphertext, never to be shown or run by a browser: downloaded, sandboxed.
                reply(HTTPResponse(status: 200, headers: [
                    "Content-Type": "application/octet-stream", "Content-Disposition": "attachment",
                    "Content-Security-Policy": "default-src 'none'; sandbox",
                ], body: data))
            }
        default:
            reply(.error(status: 405, code: "method_not_allowed", message: "POST /v1/blobs or GET /v1/blobs/<id>"))
        }
    }
}

extension HavenServer {
    /// Issues TURN credentials by the TURN REST API scheme; suspended members get none (their
    /// suspension applies to calls too). The name after the expiry is random, so the relay's logs
    /// cannot link its sessions to a member's identity key.
    func issueTurnCredentials(session: Session, member: MemberInfo) {
        guard let turn = configuration.turn else {
            refuse(session, code: "turn_unavailable", message: "this server has no TURN relay configured")
            return
        }
        guard !sanctions.isSuspended(member.member, now: configuration.now()) else {
            refuse(session, code: "suspended", message: "you are suspended; calls are not available for now")
            return
        }
        let username = "\(configuration.now() + Int64(turn.ttlSeconds)):\(Base64URL.encode(RandomBytes.bytes(count: 16)))"
        let credential = Data(HMACSHA1.authenticate(Array(username.utf8), key: turn.secret)).base64EncodedString()
        send(.turn(TurnCredentials(urls: turn.urls, username: username, credential: credential, ttl: turn.ttlSeconds)), to: session)
    }
}
