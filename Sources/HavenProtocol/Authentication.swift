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
    /// The proof of work a new identity must show (``ProofOfWork``), in bits; none when absent.
    public var work: Int?

    /// Creates a challenge with a fresh random nonce.
    public init(server: String, work: Int? = nil) {
        self.init(nonce: WireBytes(RandomBytes.bytes(count: Self.nonceLength)), server: server, work: work)
    }

    /// Creates a challenge from known parts.
    public init(nonce: WireBytes, server: String, work: Int? = nil) {
        self.nonce = nonce
        self.server = server
        self.work = work
    }

    /// The bytes a member signs to answer this challenge (docs/crypto.md, "Login").
    public func signedBytes(member: MemberID) -> [UInt8] {
        var bytes = CanonicalBytes(label: DomainLabel.auth)
        bytes.append(server)
        bytes.append(nonce.bytes)
        bytes.append(member.bytes)
        return bytes.bytes
    }

    /// Answers the challenge with `identity`'s signature and, when the challenge asks for work, a
    /// proof of it (a new identity needs one; a known one may leave it out with `proveWork` false).
    public func respond(identity: SigningKeyPair, displayName: String, proveWork: Bool = true) -> AuthResponse {
        let member = MemberID(identity.publicKey)
        let bits = min(work ?? 0, ProofOfWork.maxBits)
        let proof = proveWork && bits > 0 ? WireBytes(ProofOfWork.solve(bits: bits, challenge: self, member: member)) : nil
        return AuthResponse(member: member, signature: WireBytes(identity.sign(signedBytes(member: member))), displayName: displayName, proof: proof)
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
    /// The proof of work the challenge asked for (``ProofOfWork``), when this identity shows one.
    public var proof: WireBytes?

    /// Creates a response.
    public init(member: MemberID, signature: WireBytes, displayName: String, proof: WireBytes? = nil) {
        self.member = member
        self.signature = signature
        self.displayName = displayName
        self.proof = proof
    }

    /// Checks field limits. - Throws: ``ProtocolError``.
    public func validate() throws(ProtocolError) {
        try signature.require(length: SigningPublicKey.signatureLength, field: "signature")
        try proof?.require(length: ProofOfWork.proofLength, field: "proof")
        try DisplayName.validateMember(displayName)
    }
}
