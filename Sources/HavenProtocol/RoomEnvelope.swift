@_spi(TestVectors) public import Sodium

/// A message to a room: XChaCha20-Poly1305 ciphertext under the room's epoch key, signed by the
/// sender. The server stores and forwards it unchanged; only members holding the epoch key read it.
///
/// The ciphertext's plaintext is `frankingKey (32 bytes) || body`, padded to its bucket
/// (``MessagePadding``); the associated data binds
/// room, epoch, message id and sender, and the signature covers every other field
/// (docs/crypto.md, "Room messages").
public struct RoomEnvelope: Codable, Sendable, Hashable {
    /// The room.
    public var room: RoomID
    /// The epoch whose key encrypted it.
    public var epoch: UInt64
    /// The sender's message id; a resend reuses it.
    public var id: MessageID
    /// The sender's identity key.
    public var sender: MemberID
    /// The 24-byte AEAD nonce.
    public var nonce: WireBytes
    /// The AEAD ciphertext with its 16-byte tag.
    public var ciphertext: WireBytes
    /// The 32-byte franking commitment to the body.
    public var franking: WireBytes
    /// The sender's Ed25519 signature over ``signedBytes``.
    public var signature: WireBytes
    /// The length of the room log as the sender saw it (with ``logHead`` and ``counter``, or
    /// none of the three for a room whose epoch predates its log).
    public var logLength: UInt64?
    /// The hash of the last log entry the sender saw: receivers compare it with theirs.
    public var logHead: WireBytes?
    /// The sender's count of their messages in this room, from 1: a repeat is a replay, a skip a
    /// message withheld.
    public var counter: UInt64?

    /// Checks every length and limit. - Throws: ``ProtocolError``.
    public func validate() throws(ProtocolError) {
        try ProtocolLimits.checkInteger(epoch, field: "epoch")
        try nonce.require(length: AEAD.nonceLength, field: "nonce")
        try ciphertext.require(atMost: ProtocolLimits.maxRoomCiphertextBytes, field: "ciphertext")
        guard ciphertext.count >= Franking.keyLength + AEAD.tagLength else {
            throw .wrongLength(field: "ciphertext", length: ciphertext.count, expected: Franking.keyLength + AEAD.tagLength)
        }
        try franking.require(length: Franking.commitmentLength, field: "franking")
        try signature.require(length: SigningPublicKey.signatureLength, field: "signature")
        let logged = [logLength != nil, logHead != nil, counter != nil]
        guard logged.allSatisfy({ $0 }) || logged.allSatisfy({ !$0 }) else {
            throw .missingField(logLength == nil ? "logLength" : logHead == nil ? "logHead" : "counter")
        }
        try ProtocolLimits.checkInteger(logLength, field: "logLength")
        try ProtocolLimits.checkInteger(counter, field: "counter")
        try logHead?.require(length: RoomLogEntry.hashLength, field: "logHead")
    }

    /// Whether it carries the sender's log view and counter.
    public var isLogged: Bool { logLength != nil }

    /// The associated data: label, room, epoch, message id, sender.
    public var associatedData: [UInt8] {
        var bytes = CanonicalBytes(label: DomainLabel.roomMessageAD)
        bytes.append(room.value)
        bytes.append(epoch)
        bytes.append(id.bytes)
        bytes.append(sender.bytes)
        return bytes.bytes
    }

    /// The signed bytes: label, room, epoch, id, sender, nonce, ciphertext, franking commitment,
    /// and for a logged envelope (its own label) the log length, log head and counter.
    public var signedBytes: [UInt8] {
        var bytes = CanonicalBytes(label: isLogged ? DomainLabel.roomMessageLogged : DomainLabel.roomMessage)
        bytes.append(room.value)
        bytes.append(epoch)
        bytes.append(id.bytes)
        bytes.append(sender.bytes)
        bytes.append(nonce.bytes)
        bytes.append(ciphertext.bytes)
        bytes.append(franking.bytes)
        if let logLength, let logHead, let counter {
            bytes.append(logLength)
            bytes.append(logHead.bytes)
            bytes.append(counter)
        }
        return bytes.bytes
    }

    /// Where the sender stands: its view of the room log and its message counter.
    public struct LogView: Sendable, Equatable {
        /// The log's length.
        public var length: UInt64
        /// The hash of its last entry.
        public var head: [UInt8]
        /// The sender's message counter in the room.
        public var counter: UInt64
        /// Creates the value.
        public init(length: UInt64, head: [UInt8], counter: UInt64) {
            self.length = length
            self.head = head
            self.counter = counter
        }
    }

    /// Encrypts and signs `body` for the room of `key`, with the sender's log view when given.
    public static func seal(
        _ body: MessageBody, key: EpochKey, sender: SigningKeyPair, id: MessageID = .random(), view: LogView? = nil
    ) throws -> RoomEnvelope {
        try seal(body, key: key, sender: sender, id: id,
                 nonce: RandomBytes.bytes(count: AEAD.nonceLength), frankingKey: Franking.generateKey(), view: view)
    }

    /// Deterministic sealing with a given nonce and franking key, for reproducible test vectors only.
    @_spi(TestVectors)
    public static func seal(
        _ body: MessageBody, key: EpochKey, sender: SigningKeyPair, id: MessageID, nonce: [UInt8], frankingKey: [UInt8],
        view: LogView? = nil
    ) throws -> RoomEnvelope {
        let bodyBytes = try body.encoded()
        var envelope = RoomEnvelope(
            room: key.room, epoch: key.epoch, id: id, sender: MemberID(sender.publicKey),
            nonce: WireBytes(nonce), ciphertext: WireBytes([]),
            franking: WireBytes(try Franking.commitment(body: bodyBytes, key: frankingKey)), signature: WireBytes([]),
            logLength: view?.length, logHead: view.map { WireBytes($0.head) }, counter: view?.counter)
        envelope.ciphertext = WireBytes(try AEAD.seal(
            MessagePadding.pad(frankingKey + bodyBytes), associatedData: envelope.associatedData, nonce: nonce, key: key.key))
        envelope.signature = WireBytes(sender.sign(envelope.signedBytes))
        return envelope
    }

    /// Checks the sender's signature (what the server does before storing).
    ///
    /// - Throws: field errors, or ``ProtocolError/signatureInvalid(what:)``.
    public func verifySignature() throws(ProtocolError) {
        try validate()
        try sender.publicKey.verify(signature.bytes, of: signedBytes, what: "room message")
    }

    /// Verifies, decrypts and checks the franking commitment.
    ///
    /// - Throws: ``ProtocolError/wrongEpoch(expected:actual:)`` or `wrongRecipient` for a key of another
    ///   epoch or room, `signatureInvalid`, `decryptionFailed`, `frankingMismatch`, or body errors.
    public func open(with key: EpochKey) throws(ProtocolError) -> OpenedMessage {
        guard key.room == room else { throw .wrongRecipient(what: "room message for room \(room)") }
        guard key.epoch == epoch else { throw .wrongEpoch(expected: key.epoch, actual: epoch) }
        try verifySignature()
        let plaintext: [UInt8]
        do {
            plaintext = try AEAD.open(ciphertext.bytes, associatedData: associatedData, nonce: nonce.bytes, key: key.key)
        } catch {
            throw .decryptionFailed(what: "room message")
        }
        return try OpenedMessage(
            id: id, sender: sender, plaintext: MessagePadding.unpaddedOrWhole(plaintext), commitment: franking.bytes, signature: signature.bytes)
    }

    /// Throws unless the ciphertext's length is a padded size plus the tag: what the server
    /// requires of every envelope sent, so no client leaks a message's exact length by mistake.
    public func requirePadded() throws(ProtocolError) {
        guard MessagePadding.isBucket(ciphertext.count - AEAD.tagLength) else { throw .paddingInvalid(what: "room message ciphertext") }
    }
}

/// A decrypted, verified message, with what a report of it would reveal.
public struct OpenedMessage: Sendable, Equatable {
    /// The message id.
    public let id: MessageID
    /// The verified sender.
    public let sender: MemberID
    /// The decoded body.
    public let body: MessageBody
    /// The exact body bytes that were franked.
    public let bodyBytes: [UInt8]
    /// The franking key (revealed only in a report).
    public let frankingKey: [UInt8]
    /// The sender's signature that covers the commitment.
    public let signature: [UInt8]

    /// Splits `frankingKey || body`, checks the commitment and decodes the body.
    init(id: MessageID, sender: MemberID, plaintext: [UInt8], commitment: [UInt8], signature: [UInt8]) throws(ProtocolError) {
        guard plaintext.count >= Franking.keyLength else {
            throw .wrongLength(field: "plaintext", length: plaintext.count, expected: Franking.keyLength)
        }
        frankingKey = Array(plaintext.prefix(Franking.keyLength))
        bodyBytes = Array(plaintext.dropFirst(Franking.keyLength))
        try Franking.verify(body: bodyBytes, key: frankingKey, commitment: commitment)
        body = try MessageBody.decode(bodyBytes)
        self.id = id
        self.sender = sender
        self.signature = signature
    }
}
