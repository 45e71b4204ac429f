/// A connection's bytes, whatever carries them: plain TCP (``SocketStream``) or TLS over it
/// (``TLSStream``). WebSocket code reads and writes through this. Loop thread only.
public protocol ByteStream: AnyObject {
    /// Called with each chunk read; the buffer is valid only during the call.
    var onRead: (UnsafeRawBufferPointer) -> Void { get set }
    /// Called once when the connection is gone.
    var onClose: () -> Void { get set }
    /// Bytes queued or being written.
    var queuedBytes: Int { get }
    /// Starts (or resumes) reading.
    func startReading()
    /// Stops reading.
    func stopReading()
    /// Queues `bytes` for writing.
    func write(_ bytes: OutboundBytes)
    /// Writes everything queued, then closes.
    func closeAfterWriting()
    /// Closes now.
    func close()
}

extension SocketStream: ByteStream {}
