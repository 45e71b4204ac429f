public import Sodium

/// An epoch key delivered to one member: sealed to the recipient's X25519 key and signed by the
/// member who sealed it, so the recipient knows who vouched for the key and every member can
/// list who holds each epoch (docs/crypto.md, "Epoch key bundles").
public struct EpochKeyBundle: Codable, Sendable, Hashable {
    /// The room.
    public var room: RoomID
    /// The epoch of the sealed key.
    public var epoch: UInt64
    /// Who can open it.
    public var recipient: MemberID
    /// Who sealed and signed it.
    public var sealer: MemberID
    /// `crypto_box_seal` of the 32-byte epoch key to the recipient (80 bytes).
    public var sealed: WireBytes
    /// The sealer's signature over ``signedBytes``.
    public var signature: WireBytes

    /// Checks every length. - Throws: ``ProtocolError``.
    public func validate() throws(ProtocolError) {
        try ProtocolLimits.checkInteger(epoch, field: "epoch")
        try sealed.require(length: EpochKey.length + SealedBox.overhead, field: "sealed")
        try signature.require(length: SigningPublicKey.signatureLength, field: "signature")
    }

    /// The signed bytes: label, room, epoch, recipient, sealer, sealed box.
    public var signedBytes: [UInt8] {
        var bytes = CanonicalBytes(label: DomainLabel.epochKey)
        bytes.append(room.value)
        bytes.append(epoch)
        bytes.append(recipient.bytes)
        bytes.append(sealer.bytes)
        bytes.append(sealed.bytes)
        return bytes.bytes
    }

    /// Seals `key` to `recipient` and signs the bundle as `sealer`.
    ///
    /// - Throws: ``ProtocolError/invalidField(_:reason:)`` when the recipient's key has no X25519 form.
    public static func seal(_ key: EpochKey, to recipient: MemberID, by sealer: SigningKeyPair) throws(ProtocolError) -> EpochKeyBundle {
        let address: BoxPublicKey
        do {
            address = try recipient.publicKey.boxPublicKey()
        } catch {
            throw .invalidField("recipient", reason: "not a valid Ed25519 key")
        }
        var bundle = EpochKeyBundle(
            room: key.room, epoch: key.epoch, recipient: recipient, sealer: MemberID(sealer.publicKey),
            sealed: WireBytes(address.seal(key.key)), signature: WireBytes([]))
        bundle.signature = WireBytes(sealer.sign(bundle.signedBytes))
        return bundle
    }

    /// Checks the sealer's signature (anyone can, the server included).
    public func verifySignature() throws(ProtocolError) {
        try validate()
        try sealer.publicKey.verify(signature.bytes, of: signedBytes, what: "epoch key bundle")
    }

    /// Verifies the bundle and opens it with the recipient's identity.
    ///
    /// - Throws: ``ProtocolError/wrongRecipient(what:)``, `signatureInvalid`, or `decryptionFailed`.
    public func open(with identity: SigningKeyPair) throws -> EpochKey {
        guard recipient.publicKey == identity.publicKey else { throw ProtocolError.wrongRecipient(what: "epoch key bundle") }
        try verifySignature()
        let key: SecretBytes
        do {
            key = try identity.boxKeyPair().openSecret(sealed.bytes)
        } catch {
            throw ProtocolError.decryptionFailed(what: "epoch key bundle")
        }
        return try EpochKey(room: room, epoch: epoch, key: key)
    }
}
