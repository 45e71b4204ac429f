/// Immutable bytes queued for writing, shared by reference so one encoded frame can be written to
/// many connections without a copy per recipient. The memory stays valid until the last write that
/// uses it completes (each in-flight write holds a reference).
public final class OutboundBytes: Sendable {
    // The pointer is written only in `init` and freed in `deinit`; in between it is read-only,
    // so sharing across threads is safe.
    nonisolated(unsafe) let buffer: UnsafeMutableRawBufferPointer

    /// Copies `bytes` into a new buffer (one `memcpy` when they are contiguous, as arrays are).
    public init(_ bytes: some Collection<UInt8>) {
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: Swift.max(bytes.count, 1), alignment: 1)
        let copied: Void? = bytes.withContiguousStorageIfAvailable { source in buffer.copyMemory(from: UnsafeRawBufferPointer(source)) }
        if copied == nil { _ = buffer.initializeMemory(as: UInt8.self, from: bytes) }
        self.buffer = buffer
        count = bytes.count
    }

    /// The number of bytes.
    public let count: Int

    deinit { buffer.deallocate() }
}
