public import Sodium

/// A message to one member: sealed to the recipient's X25519 key, with the sender's signature
/// inside the seal (a sealed box alone does not say who sent it).
///
/// The sealed plaintext is `signature (64) || frankingKey (32) || body`; the signature covers
/// label, id, sender, recipient and the franking commitment (docs/crypto.md, "Direct messages").
/// The server sees sender, recipient, size and the commitment, never the body.
public struct DirectMessage: Codable, Sendable, Hashable {
    /// The sender's message id.
    public var id: MessageID
    /// The sender's identity key.
    public var sender: MemberID
    /// The recipient's identity key.
    public var recipient: MemberID
    /// The 32-byte franking commitment to the body.
    public var franking: WireBytes
    /// The sealed box.
    public var sealed: WireBytes

    /// What a direct message carries, signed under its own label so that one cannot be passed
    /// off as the other (a call step replayed as words, or words as a call step).
    public enum Purpose: Sendable {
        /// Words or an attachment from one member to another (`haven/v1/direct-message`).
        case message
        /// One call signalling step (`haven/v1/call-signal`).
        case callSignal

        var label: String { self == .message ? DomainLabel.directMessage : DomainLabel.callSignal }
    }

    private static let minimumSealed = SigningPublicKey.signatureLength + Franking.keyLength + SealedBox.overhead

    /// Checks every length and limit. - Throws: ``ProtocolError``.
    public func validate() throws(ProtocolError) {
        try franking.require(length: Franking.commitmentLength, field: "franking")
        try sealed.require(atMost: ProtocolLimits.maxSealedDirectBytes, field: "sealed")
        guard sealed.count >= Self.minimumSealed else {
            throw .wrongLength(field: "sealed", length: sealed.count, expected: Self.minimumSealed)
        }
    }

    /// The bytes the sender signs: label (by purpose), id, sender, recipient, franking commitment.
    public static func signedBytes(
        id: MessageID, sender: MemberID, recipient: MemberID, commitment: [UInt8], purpose: Purpose = .message
    ) -> [UInt8] {
        var bytes = CanonicalBytes(label: purpose.label)
        bytes.append(id.bytes)
        bytes.append(sender.bytes)
        bytes.append(recipient.bytes)
        bytes.append(commitment)
        return bytes.bytes
    }

    /// Signs `body` as `sender` and seals it to `recipient`.
    public static func seal(
        _ body: MessageBody, from sender: SigningKeyPair, to recipient: MemberID, id: MessageID = .random(), purpose: Purpose = .message
    ) throws -> DirectMessage {
        let bodyBytes = try body.encoded()
        let frankingKey = Franking.generateKey()
        let commitment = try Franking.commitment(body: bodyBytes, key: frankingKey)
        let senderID = MemberID(sender.publicKey)
        let signature = sender.sign(signedBytes(id: id, sender: senderID, recipient: recipient, commitment: commitment, purpose: purpose))
        let address: BoxPublicKey
        do {
            address = try recipient.publicKey.boxPublicKey()
        } catch {
            throw ProtocolError.invalidField("recipient", reason: "not a valid Ed25519 key")
        }
        return DirectMessage(
            id: id, sender: senderID, recipient: recipient, franking: WireBytes(commitment),
            sealed: WireBytes(address.seal(signature + frankingKey + bodyBytes)))
    }

    /// Opens the message with the recipient's identity and verifies the sender's inner signature
    /// and the franking commitment.
    ///
    /// - Throws: ``ProtocolError/wrongRecipient(what:)``, `decryptionFailed`, `signatureInvalid`,
    ///   `frankingMismatch`, or body errors.
    public func open(with identity: SigningKeyPair, purpose: Purpose = .message) throws -> OpenedMessage {
        guard recipient.publicKey == identity.publicKey else { throw ProtocolError.wrongRecipient(what: "direct message") }
        try validate()
        let plaintext: [UInt8]
        do {
            plaintext = try identity.boxKeyPair().open(sealed.bytes)
        } catch {
            throw ProtocolError.decryptionFailed(what: "direct message")
        }
        let signature = Array(plaintext.prefix(SigningPublicKey.signatureLength))
        let signed = Self.signedBytes(id: id, sender: sender, recipient: recipient, commitment: franking.bytes, purpose: purpose)
        try sender.publicKey.verify(signature, of: signed, what: purpose == .message ? "direct message" : "call signal")
        return try OpenedMessage(
            id: id, sender: sender, plaintext: Array(plaintext.dropFirst(SigningPublicKey.signatureLength)),
            commitment: franking.bytes, signature: signature)
    }
}
