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
/// room or private message, what the loop worked out ahead of the core.
struct ReceivedFrame: Sendable {
    /// The decoded frame, or the decoding error.
    let frame: Result<Frame, ProtocolError>
    /// For a room message (`send`) or a private one (`direct`): its check and stored bytes.
    let prepared: PreparedMessage?

    /// Decodes `text` and prepares a room or private message.
    init(decoding text: UnsafeRawBufferPointer) {
        frame = Result { () throws(ProtocolError) in try FrameCodec.decode(Array(text)) }
        switch frame {
        case .success(.send(let message)): prepared = PreparedMessage(message.envelope)
        case .success(.direct(let message)): prepared = PreparedMessage(message.message)
        default: prepared = nil
        }
    }
}

/// The costliest steps of taking a message in, which need nothing of the server's state: done on
/// the loop the message arrived on, so they are spread over every loop instead of adding up on
/// the core's.
struct PreparedMessage: Sendable {
    /// A room message's padding and signature check; a private message's sealed sender and padding.
    let check: Result<Void, ProtocolError>
    /// The JSON the store keeps and replays.
    let stored: [UInt8]

    /// Checks a room message's envelope and encodes it for the store.
    init(_ envelope: RoomEnvelope) {
        check = Result { () throws(ProtocolError) in
            try envelope.requirePadded()
            try envelope.verifySignature()
        }
        stored = FrameCodec.encodeValue(envelope)
    }

    /// Checks a private message and encodes it for the store.
    init(_ message: DirectMessage) {
        check = Result { () throws(ProtocolError) in try message.requireSealedSenderAndPadding() }
        stored = FrameCodec.encodeValue(message)
    }
}
