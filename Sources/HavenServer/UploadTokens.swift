import HavenProtocol

/// What an attachment token allows, and for whom: it is the session's that asked, and ends with it.
struct UploadGrant: Equatable {
    let member: MemberID
    let connection: Int
    let expires: Int64
    /// An upload's head came with this token: it uploads nothing else.
    var uploadStarted = false
}

/// Attachment tokens: short-lived bearer tokens a session asks for, each good for downloads
/// and for one upload, and gone with the session. Pure state, no I/O: the server makes the
/// random tokens and answers the requests.
struct UploadTokens {
    /// Seconds a token stays valid.
    static let lifetimeSeconds = 600
    /// Tokens one session may hold at once.
    static let perSession = 8

    private var grants: [[UInt8]: UploadGrant] = [:]
    private var bySession: [Int: Set<[UInt8]>] = [:]

    /// Records `token` for `member`'s session on `connection`, valid for ``lifetimeSeconds``;
    /// false when the session already holds ``perSession`` tokens still valid.
    mutating func issue(_ token: [UInt8], to member: MemberID, connection: Int, now: Int64) -> Bool {
        let held = (bySession[connection] ?? []).filter { grants[$0].map { $0.expires > now } ?? false }
        guard held.count < Self.perSession else {
            bySession[connection] = held
            return false
        }
        grants[token] = UploadGrant(member: member, connection: connection, expires: now + Int64(Self.lifetimeSeconds))
        bySession[connection] = held.union([token])
        return true
    }

    /// The grant `token` stands for, while it is valid.
    func grant(for token: [UInt8], now: Int64) -> UploadGrant? {
        grants[token].flatMap { $0.expires > now ? $0 : nil }
    }

    /// Marks the token's upload as begun (its request head arrived): it uploads nothing else.
    mutating func startUpload(with token: [UInt8]) {
        grants[token]?.uploadStarted = true
    }

    /// Ends the token: its upload is done (the next attachment asks for a new one).
    mutating func finishUpload(with token: [UInt8]) {
        guard let grant = grants.removeValue(forKey: token) else { return }
        bySession[grant.connection]?.remove(token)
    }

    /// A closing session's tokens go with it.
    mutating func revoke(connection: Int) {
        for token in bySession.removeValue(forKey: connection) ?? [] { grants[token] = nil }
    }

    /// Forgets the tokens that have expired.
    mutating func expire(now: Int64) {
        grants = grants.filter { $0.value.expires > now }
    }
}
