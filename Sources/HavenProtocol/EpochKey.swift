public import Sodium

/// A room's symmetric key for one epoch: 32 random bytes in secure memory.
///
/// A new epoch (after a removal, a ban or on the room's schedule) gets a new key, sealed only
/// to the members who remain.
public struct EpochKey: Sendable {
    /// Length of the key in bytes.
    public static let length = AEAD.keyLength
    /// The room this key belongs to.
    public let room: RoomID
    /// The epoch number (0 for a room's first key).
    public let epoch: UInt64
    /// The key bytes.
    public let key: SecretBytes

    /// Wraps an existing key. - Throws: ``ProtocolError`` for a wrong length or an epoch beyond 2^53-1.
    public init(room: RoomID, epoch: UInt64, key: SecretBytes) throws(ProtocolError) {
        guard key.count == Self.length else { throw .wrongLength(field: "epochKey", length: key.count, expected: Self.length) }
        try ProtocolLimits.checkInteger(epoch, field: "epoch")
        self.room = room
        self.epoch = epoch
        self.key = key
    }

    /// A fresh random key for `room` at `epoch`.
    public static func generate(room: RoomID, epoch: UInt64) throws -> EpochKey {
        try EpochKey(room: room, epoch: epoch, key: AEAD.generateKey())
    }
}
