import CSodium

/// ISO/IEC 7816-4 padding (`sodium_pad` / `sodium_unpad`): a 0x80 byte then zeros, up to the next
/// multiple of a block size. Unpadding runs in time independent of where the marker is.
public enum Padding {
    /// `bytes` padded to the next multiple of `blockSize` (always at least one byte longer).
    ///
    /// - Precondition: `blockSize` is positive.
    public static func pad(_ bytes: [UInt8], blockSize: Int) -> [UInt8] {
        precondition(blockSize > 0, "a padding block size is positive")
        SodiumLibrary.ensureInitialized()
        let capacity = (bytes.count / blockSize + 1) * blockSize
        var padded = bytes + [UInt8](repeating: 0, count: capacity - bytes.count)
        var length = 0
        let status = padded.withUnsafeMutableBufferPointer { buffer in
            sodium_pad(&length, buffer.baseAddress!, bytes.count, blockSize, capacity)
        }
        precondition(status == 0 && length == capacity, "sodium_pad had room for one block")
        return padded
    }

    /// `padded` without its padding, where the padding ends a block of `blockSize` bytes.
    ///
    /// - Throws: ``SodiumError/paddingInvalid`` when the last `blockSize` bytes hold no marker.
    public static func unpad(_ padded: [UInt8], blockSize: Int) throws(SodiumError) -> [UInt8] {
        SodiumLibrary.ensureInitialized()
        guard blockSize > 0, padded.count >= blockSize else { throw .paddingInvalid }
        var length = 0
        let status = padded.withUnsafeBufferPointer { sodium_unpad(&length, $0.baseAddress!, padded.count, blockSize) }
        guard status == 0 else { throw .paddingInvalid }
        return Array(padded.prefix(length))
    }
}
