import HavenNet
import HavenProtocol

/// What the server's core asks of the loop that holds a connection. Orders for one loop are
/// carried in one batch per turn of the core's loop, and applied in the order given.
enum ConnectionOrder: Sendable {
    /// Writes one encoded frame to each of the connections.
    case send(OutboundBytes, to: [Int])
    /// Writes a live message of `stream` to each of the connections, except to one whose send
    /// queue is half full or whose stream has fallen behind: that one is reported
    /// (``ConnectionEvent/fellBehind(_:stream:cursor:fallBehind:)``) and sent nothing more of the
    /// stream until ``resumeLive(_:stream:fallBehind:)``.
    case deliver(OutboundBytes, to: [Int], stream: ReplayStream, cursor: Int64)
    /// Starts the close handshake.
    case close(Int, WebSocketCloseCode, reason: String)
    /// Refuses longer messages from now on.
    case limitMessages(Int, bytes: Int)
    /// Stops reading the peer's bytes.
    case pauseReading(Int)
    /// Reads the peer's bytes again.
    case resumeReading(Int)
    /// Answers ``ConnectionEvent/queueBelow(_:request:queuedBytes:)`` once the bytes queued for
    /// the connection are at most `bytes`.
    case tellWhenQueueBelow(Int, bytes: Int, request: Int)
    /// Sends the stream live again: it has caught up from the store since the fall behind
    /// numbered `fallBehind` (a later one stays until it is answered too).
    case resumeLive(Int, stream: ReplayStream, fallBehind: Int)
    /// The core has handled every event of the loop's batches up to number `batch`.
    case caughtUp(through: Int)
}

/// What a connection's loop tells the server's core, in the order it happened.
enum ConnectionEvent: Sendable {
    /// A WebSocket connection opened on loop number `loop`.
    case opened(Int, clientAddress: [UInt8], loop: Int)
    /// A message arrived, decoded (and, a room message, its signature checked) on its loop.
    case received(Int, ReceivedFrame)
    /// The connection is gone.
    case closed(Int)
    /// A live message at `cursor` of `stream` was not sent (the queue was half full); nor will
    /// any after it be until the core resumes the stream.
    case fellBehind(Int, stream: ReplayStream, cursor: Int64, fallBehind: Int)
    /// The connection's queue drained to what request `request` asked; `queuedBytes` are left.
    case queueBelow(Int, request: Int, queuedBytes: Int)
    /// Work for the core, in order with the rest (a plain HTTP request, an upload's parts).
    case perform(@Sendable (HavenServer) -> Void)
}

/// A message as the receiving loop read it: the frame or why it could not be decoded, and for a
/// room message, whether it is padded and signed by its sender (checked where it arrived, so the
/// costliest step of a message is spread over every loop).
struct ReceivedFrame: Sendable {
    /// The decoded frame, or the decoding error.
    let frame: Result<Frame, ProtocolError>
    /// For a room message (`send`): its padding and signature check.
    let envelopeCheck: Result<Void, ProtocolError>?

    /// Decodes `text` and checks a room message's envelope.
    init(decoding text: UnsafeRawBufferPointer) {
        frame = Result { () throws(ProtocolError) in try FrameCodec.decode(Array(text)) }
        guard case .success(.send(let message)) = frame else {
            envelopeCheck = nil
            return
        }
        envelopeCheck = Result { () throws(ProtocolError) in
            try message.envelope.requirePadded()
            try message.envelope.verifySignature()
        }
    }
}
