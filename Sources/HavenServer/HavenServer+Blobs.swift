import Foundation
import HavenNet
import HavenProtocol
import HavenStore
import Sodium

/// An upload's body as it arrives, written to the store a part at a time, so no upload is ever
/// held whole in memory; the attachment becomes readable once every part is stored.
final class ArrivingUpload {
    let id = RandomBytes.bytes(count: 16)
    let owner: MemberID
    let length: Int
    /// Bytes not yet making a whole part.
    var pending: [UInt8] = []
    var nextPart = 0
    var received = 0
    /// Parts handed to the store and not yet written.
    var partsInFlight = 0
    /// A part the store could not write (a full disk): the upload is not kept.
    var partLost = false
    /// The connection's flow while the body arrives: paused while the store is behind.
    var flow: BodyFlow?

    /// Parts an upload may have on their way to the store before its connection is paused.
    static let partsInFlightAtMost = 4

    init(owner: MemberID, length: Int) {
        self.owner = owner
        self.length = length
    }

    /// Takes arriving bytes; answers the whole parts they complete, numbered, to store.
    func take(_ bytes: UnsafeRawBufferPointer) -> [(part: Int, data: [UInt8])] {
        received += bytes.count
        pending += bytes
        var parts: [(part: Int, data: [UInt8])] = []
        while pending.count >= StoreDatabase.blobPartBytes {
            parts.append((nextPart, Array(pending.prefix(StoreDatabase.blobPartBytes))))
            pending.removeFirst(StoreDatabase.blobPartBytes)
            nextPart += 1
        }
        return parts
    }
}

extension HavenServer {
    /// Attachments have used their share of the disk; messages still have theirs.
    static let attachmentsFull = HTTPResponse.error(
        status: 507, code: "attachments_full", message: "attachments cannot be stored right now; messages still can")

    /// Gives a logged-in member a short-lived token for attachment downloads and one upload, valid
    /// while the session that asked for it lasts.
    func issueUploadToken(session: Session, member: MemberInfo) {
        let token = RandomBytes.bytes(count: 32)
        guard uploadTokens.issue(token, to: member.member, connection: session.connection.id, now: configuration.now()) else {
            counters.rateLimited += 1
            refuse(session, code: "too_many_tokens", message: "too many attachment tokens at once; use the ones you have")
            return
        }
        send(.uploadToken(UploadToken(token: WireBytes(token), expiresIn: UploadTokens.lifetimeSeconds)), to: session)
    }

    /// The token of an `Authorization: Bearer …` header.
    static func bearerToken(_ request: HTTPMessage) -> [UInt8]? {
        guard let header = request.header("Authorization"), header.hasPrefix("Bearer ") else { return nil }
        return try? Base64URL.decode(String(header.dropFirst(7)))
    }

    /// The grant an `Authorization: Bearer …` header's token stands for, while its session lasts
    /// (not once the server has closed it: a banned member's tokens end with the ban).
    func uploadGrant(for request: HTTPMessage) -> (token: [UInt8], grant: UploadGrant)? {
        let now = configuration.now()
        guard let token = Self.bearerToken(request), let grant = uploadTokens.grant(for: token, now: now),
              let session = sessions[grant.connection], !session.connection.isClosing
        else { return nil }
        return (token, grant)
    }

    /// Decides from a request's head whether its body may be read: only an upload with a valid
    /// token that states its length, within its identity's and its address's budget for the hour
    /// and while few uploads are in progress, may be large. The budget is taken here, before a
    /// byte of the body is read, and given back if the body never arrives whole.
    /// Whether `head` begins an upload, the one request whose body the server takes as it comes
    /// (every other body is small and kept whole).
    static func isUpload(_ head: HTTPMessage) -> Bool {
        head.method == "POST" && head.path == "/v1/blobs"
    }

    func bodyAllowance(for head: HTTPMessage, from client: [UInt8]) -> Result<BodyAllowance, HTTPParseError>? {
        guard Self.isUpload(head) else { return nil }
        // Refusals carry CORS, so a widget on the provider's origin can tell the member why.
        let refuse = { (status: Int, code: String, message: String, headers: [String: String]) -> Result<BodyAllowance, HTTPParseError> in
            .failure(.refused(status: status, code: code, message: message, headers: self.corsHeaders(for: head).merging(headers) { $1 }))
        }
        guard let (token, grant) = uploadGrant(for: head), !grant.uploadStarted, let session = sessions[grant.connection] else {
            return refuse(401, "unauthorized", "an attachment token from the session is needed", [:])
        }
        // A token uploads once, from its head on: a head whose body never comes has used it.
        uploadTokens.startUpload(with: token)
        guard let length = head.header("Content-Length").flatMap({ Int($0) }), length > 0 else {
            return refuse(411, "length_required", "an upload states its length", [:])
        }
        let limit = configuration.network.httpLimits.maxUploadBytes
        guard length <= limit else { return refuse(413, "body_too_large", "an attachment is at most \(limit) bytes", [:]) }
        let address = session.addressKey
        let quotas = configuration.attachments
        guard uploadsInProgress.count < quotas.uploadsAtOnce else {
            return refuse(503, "uploads_busy", "many attachments are arriving just now; try again in a minute", ["Retry-After": "30"])
        }
        guard uploadsInProgress.from(address) < quotas.addressUploadsAtOnce else {
            return refuse(429, "uploads_busy", "this network is sending many attachments at once; try again in a minute", ["Retry-After": "30"])
        }
        guard diskKeepsItsReserve(after: length) else {
            return refuse(507, "attachments_full", "attachments cannot be stored right now; messages still can", [:])
        }
        guard takeUploadBudget(length, member: grant.member, addressKey: address) else {
            counters.rateLimited += 1
            return refuse(429, "too_many_uploads", "too many attachments for now; try again in a while", [:])
        }
        uploadsInProgress.start(from: address)
        let upload = ArrivingUpload(owner: grant.member, length: length)
        arrivingUploads[token] = upload
        return .success(BodyAllowance(maxBytes: length, receive: { [unowned self] bytes, flow in
            upload.flow = flow
            for (part, data) in upload.take(bytes) {
                let id = upload.id
                upload.partsInFlight += 1
                withStore({ try $0.storeBlobPart(id: id, part: part, data: data) }) { result in
                    if case .failure = result { upload.partLost = true }
                    upload.partsInFlight -= 1
                    if upload.partsInFlight <= 1 { upload.flow?.resume() }
                }
            }
            // The store is behind: the body waits in the client's buffers, not in the server's memory.
            if upload.partsInFlight >= ArrivingUpload.partsInFlightAtMost { flow.pause() }
        }, whenEnded: { [unowned self] arrived in
            upload.flow = nil
            uploadsInProgress.end(from: address)
            guard !arrived else {
                // The whole body came: the request is answered by serveBlob, on this turn of the
                // loop. One that never reaches it (an upgrade, say) leaves nothing behind.
                let check = LoopBound({ [unowned self] in
                    guard arrivingUploads[token] === upload else { return }
                    arrivingUploads[token] = nil
                    let id = upload.id
                    withStore({ try $0.discardBlobParts(id: id) }) { _ in }
                }, loop: loop)
                loop.execute { check.value() }
                return
            }
            if arrivingUploads[token] === upload { arrivingUploads[token] = nil }
            let id = upload.id
            withStore({ try $0.discardBlobParts(id: id) }) { _ in }
            // What never arrived is given back; the upload itself only if next to nothing did,
            // so a body trickled and dropped still costs its sender an upload.
            giveBackUploadBudget(
                bytes: length - upload.received, upload: upload.received < StoreDatabase.blobPartBytes,
                member: grant.member, addressKey: address)
        }))
    }

    /// Takes one upload of `length` bytes from the identity's and the address's hourly budgets,
    /// from both or from neither.
    private func takeUploadBudget(_ length: Int, member: MemberID, addressKey: [UInt8]) -> Bool {
        let now = loop.nowMilliseconds
        guard identities.withUploadBudget(member, now: now, { $0.allows(length, now: now) }),
              addresses.withUploadBudget(addressKey, now: now, { budget in
                  guard budget.allows(length, now: now) else { return false }
                  budget.take(length, now: now)
                  return true
              })
        else { return false }
        identities.withUploadBudget(member, now: now) { $0.take(length, now: now) }
        return true
    }

    /// Gives back what an upload whose body never arrived whole did not use: its bytes that never
    /// came, and the upload itself when next to nothing did (a connection dropped at the start
    /// costs its member, and their neighbours on the network, nothing).
    private func giveBackUploadBudget(bytes: Int, upload: Bool, member: MemberID, addressKey: [UInt8]) {
        let now = loop.nowMilliseconds
        identities.withUploadBudget(member, now: now) { $0.giveBack(bytes: bytes, upload: upload, now: now) }
        addresses.withUploadBudget(addressKey, now: now) { $0.giveBack(bytes: bytes, upload: upload, now: now) }
    }

    /// Whether the data folder's disk keeps its reserve for messages after `length` more bytes.
    private func diskKeepsItsReserve(after length: Int) -> Bool {
        guard let attributes = try? FileManager.default.attributesOfFileSystem(forPath: configuration.dataDirectory),
              let free = (attributes[.systemFreeSize] as? NSNumber)?.int64Value
        else { return true }
        return free - Int64(length) >= Int64(configuration.attachments.reservedFreeBytes)
    }

    /// `POST /v1/blobs` stores an encrypted attachment (opaque bytes) and answers its id;
    /// `GET /v1/blobs/<id>` returns it, read from the store a part at a time as the client takes it. Both need a token from the WebSocket session. The server
    /// never sees an attachment's key: it stays inside the end-to-end-encrypted message.
    func serveBlob(_ request: HTTPMessage, addressKey: [UInt8], reply: @escaping (HTTPResponse) -> Void) {
        let now = configuration.now()
        uploadTokens.expire(now: now)
        guard let (token, grant) = uploadGrant(for: request) else {
            // An upload whose session ended while its body arrived is not kept.
            if let token = Self.bearerToken(request), let upload = arrivingUploads.removeValue(forKey: token) {
                let id = upload.id
                withStore({ try $0.discardBlobParts(id: id) }) { _ in }
            }
            reply(.error(status: 401, code: "unauthorized", message: "an attachment token from the session is needed"))
            return
        }
        switch (request.method, request.path) {
        case ("POST", "/v1/blobs"):
            // A token uploads once: the next attachment asks for a new one.
            uploadTokens.finishUpload(with: token)
            guard let upload = arrivingUploads.removeValue(forKey: token), upload.received == upload.length else {
                reply(.error(status: 400, code: "empty", message: "no attachment in the body"))
                return
            }
            let owner = grant.member
            let (id, last, size) = (upload.id, upload.pending, upload.length)
            let lastPart = upload.nextPart
            let limits = configuration.attachments.storeLimits(maxDatabaseBytes: configuration.store.maxDatabaseBytes)
            // Every earlier part's write has completed by now: the store runs in order.
            withStore({ database -> BlobStoreOutcome in
                if !last.isEmpty { try database.storeBlobPart(id: id, part: lastPart, data: last) }
                return try database.finishBlob(id: id, owner: owner.bytes, size: size, now: now, limits: limits)
            }) { [unowned self] result in
                // A part lost on the way (a full disk) would leave an attachment nobody can read.
                guard !upload.partLost else {
                    withStore({ try $0.forgetBlob(id: id) }) { _ in }
                    reply(.error(status: 503, code: "store_failed", message: "the attachment could not be stored"))
                    return
                }
                switch result {
                case .success(.stored):
                    reply(HTTPResponse(status: 201, headers: ["Content-Type": "application/json"],
                                       body: Array(#"{"blob":"\#(Base64URL.encode(id))"}"#.utf8)))
                case .success(.ownerQuotaFull):
                    reply(.error(status: 429, code: "attachment_quota", message: "you have shared as many attachments as you can for now"))
                case .success(.storeFull):
                    reply(Self.attachmentsFull)
                case .failure:
                    reply(.error(status: 503, code: "store_failed", message: "the attachment could not be stored"))
                }
            }
        case ("GET", let path) where path.hasPrefix("/v1/blobs/"):
            guard let id = try? Base64URL.decode(String(path.dropFirst("/v1/blobs/".count))), id.count == 16 else {
                reply(.error(status: 404, code: "not_found", message: "no such attachment"))
                return
            }
            withStore({ try $0.blobSize(id: id) }) { [unowned self] result in
                guard case .success(let size?) = result else {
                    reply(.error(status: 404, code: "not_found", message: "no such attachment (it may have expired)"))
                    return
                }
                // The network's hour pays for the whole attachment before a byte is read.
                guard addresses.takeDownload(addressKey, bytes: size, now: loop.nowMilliseconds) else {
                    counters.rateLimited += 1
                    reply(.error(status: 429, code: "too_many_downloads", message: "too many attachments downloaded from this network; try again later",
                                 headers: ["Retry-After": "60"]))
                    return
                }
                // Ciphertext, never to be shown or run by a browser: downloaded, sandboxed.
                reply(HTTPResponse(status: 200, headers: [
                    "Content-Type": "application/octet-stream", "Content-Disposition": "attachment",
                    "Content-Security-Policy": "default-src 'none'; sandbox",
                ], streamedBody: StreamedBody(length: size, source: id)))
            }
        default:
            reply(.error(status: 405, code: "method_not_allowed", message: "POST /v1/blobs or GET /v1/blobs/<id>"))
        }
    }
}

extension HavenServer {
    /// Reads one part of an attachment being downloaded.
    func readPart(_ index: Int, of body: StreamedBody, then deliver: @escaping ([UInt8]?) -> Void) {
        let id = body.source
        withStore({ try $0.blobPart(id: id, part: index) }) { result in deliver(try? result.get()) }
    }
}

extension HavenServer {
    /// Issues TURN credentials by the TURN REST API scheme, for a party of a ringing or live call
    /// only, valid for minutes (a relay allocation made with them lasts as long as the call);
    /// suspended members get none (their suspension applies to calls too). The name after the
    /// expiry is random, so the relay's logs cannot link its sessions to a member's identity key.
    func issueTurnCredentials(for callID: WireBytes, session: Session, member: MemberInfo) {
        guard let turn = configuration.turn else {
            refuse(session, code: "turn_unavailable", message: "this server has no TURN relay configured")
            return
        }
        guard !sanctions.isSuspended(member.member, now: configuration.now()) else {
            refuse(session, code: "suspended", message: "you are suspended; calls are not available for now")
            return
        }
        // The member being rung needs a relay to answer; the caller only once they have.
        guard let call = callRules[callID], call.involves(connection: session.connection.id, member: member.member),
              member.member == call.callee || call.calleeConnection != nil
        else {
            refuse(session, code: "no_call", message: "relay credentials are given for a call in progress only", call: callID)
            return
        }
        let username = "\(configuration.now() + Int64(turn.ttlSeconds)):\(Base64URL.encode(RandomBytes.bytes(count: 16)))"
        let credential = Data(HMACSHA1.authenticate(Array(username.utf8), key: turn.secret)).base64EncodedString()
        send(.turn(TurnCredentials(urls: turn.urls, username: username, credential: credential, ttl: turn.ttlSeconds)), to: session)
    }
}
