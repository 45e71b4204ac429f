public import Sodium

/// Padding inside the encryption, so that a ciphertext's length tells the server only a bucket
/// (docs/crypto.md, "Padding").
///
/// A bucket is at least a floor (``floor`` for room messages and attachments, ``sealedFloor`` for
/// direct messages and call signals); above it, Padmé's sizes: a length whose highest bit is bit
/// `E` is rounded up to a multiple of `2^(E - ⌊log2 E⌋ - 1)`, which costs at most 12% and leaves
/// O(log log n) bits of the length visible. The padding itself is ISO/IEC 7816-4 (0x80 then
/// zeros, libsodium's `sodium_pad`), always at least one byte, and canonical: a receiver refuses
/// plaintext padded to any other length than the bucket of its content.
public enum MessagePadding {
    /// The smallest bucket of a room message or an attachment: every short one looks the same.
    public static let floor = 256
    /// The smallest bucket of a sealed message (a direct message or a call signal): a
    /// counsellor's short message, which carries their staff proof, looks like a member's.
    public static let sealedFloor = 1024

    /// The bucket that `length` bytes (at least 1) are padded up to.
    public static func bucket(_ length: Int, floor: Int = floor) -> Int {
        length <= floor ? floor : roundedUp(length, toMultipleOf: blockSize(length))
    }

    /// Whether `length` is a bucket size: what every padded plaintext's length must be.
    public static func isBucket(_ length: Int, floor: Int = floor) -> Bool {
        length >= floor && bucket(length, floor: floor) == length
    }

    /// `plaintext` padded to the bucket of its length plus the one byte padding always takes.
    public static func pad(_ plaintext: [UInt8], floor: Int = floor) -> [UInt8] {
        let length = plaintext.count + 1
        return Padding.pad(plaintext, blockSize: length <= floor ? floor : blockSize(length))
    }

    /// The plaintext inside `padded`, which must be padded to its bucket and no further.
    ///
    /// - Throws: ``ProtocolError/paddingInvalid(what:)`` naming `what`.
    public static func unpad(_ padded: [UInt8], floor: Int = floor, what: String) throws(ProtocolError) -> [UInt8] {
        guard isBucket(padded.count, floor: floor) else { throw .paddingInvalid(what: what) }
        let plaintext: [UInt8]
        do {
            plaintext = try Padding.unpad(padded, blockSize: padded.count == floor ? floor : blockSize(padded.count))
        } catch {
            throw .paddingInvalid(what: what)
        }
        guard bucket(plaintext.count + 1, floor: floor) == padded.count else { throw .paddingInvalid(what: what) }
        return plaintext
    }

    /// The plaintext inside `padded`, or `padded` whole when it carries no valid padding: a
    /// message sealed before padding existed. Taking such bytes whole is safe because what follows
    /// checks the franking commitment, which covers the body exactly.
    public static func unpaddedOrWhole(_ padded: [UInt8]) -> [UInt8] {
        (try? unpad(padded, what: "plaintext")) ?? padded
    }

    /// Padmé's step for a length above the floor: `2^(E - S)` where `E = ⌊log2 n⌋` and
    /// `S = ⌊log2 E⌋ + 1`.
    private static func blockSize(_ length: Int) -> Int {
        let exponent = Int.bitWidth - 1 - length.leadingZeroBitCount
        let exponentBits = Int.bitWidth - exponent.leadingZeroBitCount
        return 1 << (exponent - exponentBits)
    }

    private static func roundedUp(_ value: Int, toMultipleOf step: Int) -> Int {
        (value + step - 1) / step * step
    }
}
