public import Sodium

/// A message to one member, with a sealed sender: sealed to the recipient's X25519 key, with the
/// sender's key and signature inside the seal, so the server never sees or stores who sent it.
///
/// The sealed plaintext is `sender (32) || signature (64) || frankingKey (32) || body`, padded to
/// its bucket (``MessagePadding``, at least ``MessagePadding/sealedFloor``); the signature covers label, id, sender, recipient and the
/// franking commitment (docs/crypto.md, "Direct messages"). The server sees the recipient, the
/// padded size and the commitment; which connection sent it, only while it passes through.
public struct DirectMessage: Codable, Sendable, Hashable {
    /// The sender's message id.
    public var id: MessageID
    /// Only in a message sealed before senders were sealed (it then travels beside the seal, and
    /// the seal holds `signature || frankingKey || body`): such messages stay readable until
    /// retention purges them, and the server accepts no new one.
    public var sender: MemberID?
    /// The recipient's identity key.
    public var recipient: MemberID
    /// The 32-byte franking commitment to the body.
    public var franking: WireBytes
    /// The sealed box.
    public var sealed: WireBytes

    /// Creates a message from its parts (``seal(_:from:to:id:purpose:)`` makes one from a body).
    public init(id: MessageID, sender: MemberID? = nil, recipient: MemberID, franking: WireBytes, sealed: WireBytes) {
        self.id = id
        self.sender = sender
        self.recipient = recipient
        self.franking = franking
        self.sealed = sealed
    }

    /// What a direct message carries, signed under its own label so that one cannot be passed
    /// off as the other (a call step replayed as words, or words as a call step).
    public enum Purpose: Sendable {
        /// Words or an attachment from one member to another (`haven/v1/direct-message`).
        case message
        /// One call signalling step (`haven/v1/call-signal`).
        case callSignal

        var label: String { self == .message ? DomainLabel.directMessage : DomainLabel.callSignal }
        var what: String { self == .message ? "direct message" : "call signal" }
    }

    private static let signatureLength = SigningPublicKey.signatureLength
    private static let minimumSealed = signatureLength + Franking.keyLength + SealedBox.overhead

    /// Checks every length and limit. - Throws: ``ProtocolError``.
    public func validate() throws(ProtocolError) {
        try franking.require(length: Franking.commitmentLength, field: "franking")
        try sealed.require(atMost: ProtocolLimits.maxSealedDirectBytes, field: "sealed")
        guard sealed.count >= Self.minimumSealed else {
            throw .wrongLength(field: "sealed", length: sealed.count, expected: Self.minimumSealed)
        }
    }

    /// Throws unless the sender is sealed inside and the seal's length is a padded size: what the
    /// server requires of every direct message and call signal sent.
    public func requireSealedSenderAndPadding() throws(ProtocolError) {
        guard sender == nil else { throw .invalidField("sender", reason: "the sender travels inside the seal, never beside it") }
        guard MessagePadding.isBucket(sealed.count - SealedBox.overhead, floor: MessagePadding.sealedFloor) else {
            throw .paddingInvalid(what: "sealed")
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

    /// Signs `body` as `sender` and seals it, with the sender inside, to `recipient`.
    public static func seal(
        _ body: MessageBody, from sender: SigningKeyPair, to recipient: MemberID, id: MessageID = .random(), purpose: Purpose = .message
    ) throws -> DirectMessage {
        try seal(body, from: sender, to: recipient, id: id, frankingKey: Franking.generateKey(), purpose: purpose)
    }

    /// Sealing with a given franking key, for reproducible test vectors only (the sealed box's
    /// ephemeral key is still fresh).
    @_spi(TestVectors)
    public static func seal(
        _ body: MessageBody, from sender: SigningKeyPair, to recipient: MemberID, id: MessageID, frankingKey: [UInt8],
        purpose: Purpose = .message
    ) throws -> DirectMessage {
        let bodyBytes = try body.encoded()
        let commitment = try Franking.commitment(body: bodyBytes, key: frankingKey)
        let senderID = MemberID(sender.publicKey)
        let signature = sender.sign(signedBytes(id: id, sender: senderID, recipient: recipient, commitment: commitment, purpose: purpose))
        let address: BoxPublicKey
        do {
            address = try recipient.publicKey.boxPublicKey()
        } catch {
            throw ProtocolError.invalidField("recipient", reason: "not a valid Ed25519 key")
        }
        let plaintext = MessagePadding.pad(senderID.bytes + signature + frankingKey + bodyBytes, floor: MessagePadding.sealedFloor)
        return DirectMessage(id: id, recipient: recipient, franking: WireBytes(commitment), sealed: WireBytes(address.seal(plaintext)))
    }

    /// Opens the message with the recipient's identity and verifies the sender's inner signature
    /// and the franking commitment; the opened message names the sender found inside.
    ///
    /// - Throws: ``ProtocolError/wrongRecipient(what:)``, `decryptionFailed`, `paddingInvalid`,
    ///   `signatureInvalid`, `frankingMismatch`, or body errors.
    public func open(with identity: SigningKeyPair, purpose: Purpose = .message) throws -> OpenedMessage {
        guard recipient.publicKey == identity.publicKey else { throw ProtocolError.wrongRecipient(what: purpose.what) }
        try validate()
        var plaintext: [UInt8]
        do {
            plaintext = try identity.boxKeyPair().open(sealed.bytes)
        } catch {
            throw ProtocolError.decryptionFailed(what: purpose.what)
        }
        let signer: MemberID
        if let sender {
            // Only words were ever sent the old way: a call step is always sealed sender.
            guard purpose == .message else { throw ProtocolError.invalidField("sender", reason: "the sender travels inside the seal, never beside it") }
            signer = sender
        } else {
            plaintext = try MessagePadding.unpad(plaintext, floor: MessagePadding.sealedFloor, what: purpose.what)
            guard plaintext.count >= SigningPublicKey.length + Self.signatureLength + Franking.keyLength else {
                throw ProtocolError.wrongLength(field: "sealed", length: plaintext.count, expected: SigningPublicKey.length + Self.signatureLength + Franking.keyLength)
            }
            signer = try MemberID(bytes: Array(plaintext.prefix(SigningPublicKey.length)))
            plaintext.removeFirst(SigningPublicKey.length)
        }
        let signature = Array(plaintext.prefix(Self.signatureLength))
        let signed = Self.signedBytes(id: id, sender: signer, recipient: recipient, commitment: franking.bytes, purpose: purpose)
        try signer.publicKey.verify(signature, of: signed, what: purpose.what)
        return try OpenedMessage(
            id: id, sender: signer, plaintext: Array(plaintext.dropFirst(Self.signatureLength)),
            commitment: franking.bytes, signature: signature)
    }
}
