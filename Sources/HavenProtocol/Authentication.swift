public import Sodium

/// The server's login challenge: fresh random bytes and the server's name, so a signature made
/// for one server cannot be replayed at another.
public struct AuthChallenge: Codable, Sendable, Equatable {
    /// Length of the challenge nonce in bytes.
    public static let nonceLength = 32
    /// Random bytes, new for every connection.
    public var nonce: WireBytes
    /// The server's configured public name (e.g. its origin).
    public var server: String

    /// Creates a challenge with a fresh random nonce.
    public init(server: String) {
        self.init(nonce: WireBytes(RandomBytes.bytes(count: Self.nonceLength)), server: server)
    }

    /// Creates a challenge from known parts.
    public init(nonce: WireBytes, server: String) {
        self.nonce = nonce
        self.server = server
    }

    /// The bytes a member signs to answer this challenge (docs/crypto.md, "Login").
    public func signedBytes(member: MemberID) -> [UInt8] {
        var bytes = CanonicalBytes(label: DomainLabel.auth)
        bytes.append(server)
        bytes.append(nonce.bytes)
        bytes.append(member.bytes)
        return bytes.bytes
    }

    /// Answers the challenge with `identity`'s signature.
    public func respond(identity: SigningKeyPair, displayName: String) -> AuthResponse {
        let member = MemberID(identity.publicKey)
        return AuthResponse(member: member, signature: WireBytes(identity.sign(signedBytes(member: member))), displayName: displayName)
    }

    /// Checks a member's answer. - Throws: ``ProtocolError/signatureInvalid(what:)`` and field errors.
    public func verify(_ response: AuthResponse) throws(ProtocolError) {
        try response.validate()
        try response.member.publicKey.verify(response.signature.bytes, of: signedBytes(member: response.member), what: "login")
    }
}

/// A member's answer to an ``AuthChallenge``: who they are, proof of their key, and a display name.
public struct AuthResponse: Codable, Sendable, Equatable {
    /// The member's identity key.
    public var member: MemberID
    /// Ed25519 signature over ``AuthChallenge/signedBytes(member:)``.
    public var signature: WireBytes
    /// The pseudonym to show others (1-64 UTF-8 bytes, no control characters).
    public var displayName: String

    /// Checks field limits. - Throws: ``ProtocolError``.
    public func validate() throws(ProtocolError) {
        try signature.require(length: SigningPublicKey.signatureLength, field: "signature")
        try DisplayName.validateMember(displayName)
    }
}

/// Rules for the pseudonym a member shows.
public enum DisplayName {
    /// Check marks and their look-alikes: a name must not pass for the verified-staff badge.
    public static let checkMarks: Set<Unicode.Scalar> = ["\u{2713}", "\u{2714}", "\u{2705}", "\u{2611}", "\u{221A}", "\u{1F5F8}", "\u{237B}"]

    /// Throws unless `name` is 1-64 UTF-8 bytes without control characters, invisible formatting
    /// characters (Unicode Cf: right-to-left overrides, zero-width joiners and the like, which
    /// can make a name read as something else) or check marks.
    public static func validate(_ name: String, field: String = "displayName") throws(ProtocolError) {
        let size = name.utf8.count
        guard size <= ProtocolLimits.maxDisplayNameBytes else {
            throw .fieldTooLarge(field: field, size: size, limit: ProtocolLimits.maxDisplayNameBytes)
        }
        guard size > 0, !name.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }),
              name.trimmingPrefix(while: { $0 == " " }).isEmpty == false
        else {
            throw .invalidField(field, reason: "must be 1-\(ProtocolLimits.maxDisplayNameBytes) bytes without control characters")
        }
        guard !name.unicodeScalars.contains(where: { $0.properties.generalCategory == .format || checkMarks.contains($0) }) else {
            throw .invalidField(field, reason: "must not contain invisible formatting characters or check marks, which could pass for a verified badge")
        }
    }

    /// The words the service uses for roles: a member's name must not claim one (the verified
    /// badge says who is staff).
    public static let roleWords: Set<String> = [
        "counsellor", "counselor", "moderator", "mod", "staff", "admin", "administrator", "therapist", "verified", "official",
    ]

    /// ``validate(_:field:)``, and a person's name must not contain a role word (or its plural) as a word.
    public static func validateMember(_ name: String, field: String = "displayName") throws(ProtocolError) {
        try validate(name, field: field)
        let words = name.lowercased().split { !$0.isLetter }
        guard !words.contains(where: { roleWords.contains(String($0)) || ($0.hasSuffix("s") && roleWords.contains(String($0.dropLast()))) }) else {
            throw .invalidField(field, reason: "must not contain a word for a role (counsellor, moderator, staff...): the verified badge shows who is staff")
        }
    }
}
