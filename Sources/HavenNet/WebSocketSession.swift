import CWslay
import Foundation

/// One WebSocket conversation over a ``ByteStream`` (TCP, or TLS over it), framed by wslay: ping/pong, close handshake,
/// fragmentation and the maximum message size are wslay's; Haven adds UTF-8 validation of text
/// messages and refuses binary ones. Loop thread only.
public final class WebSocketSession {
    /// Which side of the connection this is (clients mask their frames).
    public enum Role: Sendable { case server, client }

    /// Called with each complete text message; the bytes are valid only during the call.
    public var onText: (UnsafeRawBufferPointer) -> Void = { _ in }
    /// Called once, after the stream was closed, when a frame wslay writes by itself (a pong, a
    /// close) would have taken the stream's queue past ``maxQueuedBytes``.
    public var onQueueFull: () -> Void = {}
    /// Called with +1 when the session makes wslay's context and -1 when it frees it, so an owner
    /// can count the contexts alive (each about 8.5 KB, more with a message part-read).
    public var onFramingContextCountChange: (Int) -> Void = { _ in }
    /// Most bytes the stream may hold queued, control frames included.
    public let maxQueuedBytes: Int
    /// The stream underneath.
    public let stream: any ByteStream
    /// The role.
    public let role: Role

    /// wslay's context (about 8.5 KB, two 4 KiB buffers of it), held only while a message is in
    /// flight: it is made when bytes arrive or a frame must be written, and freed as soon as wslay
    /// holds nothing of the peer's and has nothing left to write (see ``WebSocketReadBoundary``).
    private var context: OpaquePointer?
    private var boundary: WebSocketReadBoundary
    private var insideWslay = false
    private var maxMessageBytes: Int
    private var input = UnsafeRawBufferPointer(start: nil, count: 0)
    private var callbacks = wslay_event_callbacks()
    private var queueFull = false
    private var queueFullReported = false
    private var refusedMalformedFrame = false

    /// Starts a session on `stream`, refusing messages longer than `maxMessageBytes` and never
    /// queueing more than `maxQueuedBytes` on the stream. wslay's context is made when first needed.
    public init(role: Role, stream: any ByteStream, maxMessageBytes: Int, maxQueuedBytes: Int = .max) {
        self.role = role
        self.stream = stream
        self.maxMessageBytes = maxMessageBytes
        self.maxQueuedBytes = maxQueuedBytes
        boundary = WebSocketReadBoundary(incomingMasked: role == .server)
        callbacks.recv_callback = { context, buffer, length, _, user in
            WebSocketSession.from(user).readInput(context, buffer, length)
        }
        callbacks.send_callback = { context, data, length, _, user in
            WebSocketSession.from(user).write(context, UnsafeRawBufferPointer(start: data, count: length))
        }
        callbacks.genmask_callback = { _, buffer, length, _ in
            var generator = SystemRandomNumberGenerator()
            for index in 0..<length { buffer![index] = UInt8.random(in: 0...255, using: &generator) }
            return 0
        }
        callbacks.on_frame_recv_start_callback = { _, argument, user in
            guard let frame = argument?.pointee else { return }
            WebSocketSession.from(user).boundary.frameStarted(opcode: frame.opcode, fin: frame.fin != 0, payloadLength: frame.payload_length)
        }
        callbacks.on_frame_recv_end_callback = { _, user in
            WebSocketSession.from(user).boundary.frameEnded()
        }
        callbacks.on_msg_recv_callback = { _, argument, user in
            guard let argument else { return }
            WebSocketSession.from(user).received(argument.pointee)
        }
    }

    deinit {
        if let context { wslay_event_context_free(context) }
    }

    /// wslay's context, made afresh (with a fresh read boundary) if the session let it go while
    /// idle; nil only when memory ran out, and then the stream is closed.
    private func framing() -> OpaquePointer? {
        if let context { return context }
        var made: OpaquePointer?
        let user = Unmanaged.passUnretained(self).toOpaque()
        let status = role == .server
            ? wslay_event_context_server_init(&made, &callbacks, user)
            : wslay_event_context_client_init(&made, &callbacks, user)
        guard status == 0, let made else {
            stream.close()
            return nil
        }
        wslay_event_config_set_max_recv_msg_length(made, UInt64(maxMessageBytes))
        boundary = WebSocketReadBoundary(incomingMasked: role == .server)
        context = made
        onFramingContextCountChange(1)
        return made
    }

    /// Refuses messages longer than `bytes` from now on (close 1009): wslay sets aside room for a
    /// whole message as soon as its header arrives, so a peer not yet trusted gets a small limit.
    public func limitMessages(to bytes: Int) {
        maxMessageBytes = bytes
        if let context { wslay_event_config_set_max_recv_msg_length(context, UInt64(bytes)) }
    }

    /// True while part of a message has arrived and the rest has not.
    public var isPartwayThroughAMessage: Bool { context != nil && !boundary.isBetweenMessages }

    /// Frees wslay's context if it holds nothing: no part-read frame or message, nothing left to
    /// write, no close begun, and not from inside one of wslay's own callbacks (which may send).
    private func releaseFramingIfIdle() {
        guard !insideWslay, let context, !queueFull, !refusedMalformedFrame, boundary.isBetweenMessages,
              wslay_event_get_close_sent(context) == 0, wslay_event_get_close_received(context) == 0,
              wslay_event_want_read(context) != 0, wslay_event_want_write(context) == 0 else { return }
        freeFraming()
    }

    /// Ends the session once its connection is gone: frees wslay's context (and any message
    /// part-read in it) and lets go of the callbacks.
    public func end() {
        freeFraming()
        onText = { _ in }
        onQueueFull = {}
        onFramingContextCountChange = { _ in }
    }

    private func freeFraming() {
        guard let context, !insideWslay else { return }
        wslay_event_context_free(context)
        self.context = nil
        onFramingContextCountChange(-1)
    }

    /// Feeds bytes read from the stream; complete messages go to ``onText``. Closes the stream
    /// once the close handshake is done or the peer broke the protocol.
    public func receive(_ bytes: UnsafeRawBufferPointer) {
        guard let context = framing() else { return }
        input = bytes
        insideWslay = true
        let status = wslay_event_recv(context)
        insideWslay = false
        input = UnsafeRawBufferPointer(start: nil, count: 0)
        if status != 0 && wslay_event_get_close_sent(context) == 0
            && wslay_event_queue_close(context, WebSocketCloseCode.protocolError.rawValue, nil, 0) != 0 {
            refuseMalformedFrame(context)
            return
        }
        flush()
        releaseFramingIfIdle()
    }

    /// wslay refuses a malformed frame (a ping longer than 125 bytes, say) with a close that has
    /// no status code; RFC 6455 asks for 1002, so a server sends that one in its place and hangs up.
    private func refuseMalformedFrame(_ context: OpaquePointer) {
        guard role == .server, let encoder = try? WebSocketFrameEncoder() else {
            flush()
            return
        }
        wslay_event_shutdown_write(context)
        refusedMalformedFrame = true
        stream.stopReading()
        stream.write(encoder.closeFrame(.protocolError))
        stream.closeAfterWriting()
    }

    /// Sends one text message (copied and framed by wslay; clients mask it).
    public func send(text: some Collection<UInt8>) {
        guard !isClosing, let context = framing() else { return }
        let bytes = Array(text)
        bytes.withUnsafeBufferPointer { buffer in
            var message = wslay_event_msg(opcode: UInt8(WSLAY_TEXT_FRAME.rawValue), msg: buffer.baseAddress, msg_length: buffer.count)
            _ = wslay_event_queue_msg(context, &message)
        }
        flush()
        releaseFramingIfIdle()
    }

    /// Sends a frame built once by ``WebSocketFrameEncoder`` (server role only): the same bytes
    /// can go to many sessions without re-framing.
    public func send(frame: OutboundBytes) {
        precondition(role == .server, "pre-framed messages are unmasked: server only")
        guard !isClosing else { return }
        stream.write(frame)
    }

    /// Sends a ping (the peer's pong counts as activity).
    public func ping() {
        guard !isClosing, let context = framing() else { return }
        var message = wslay_event_msg(opcode: UInt8(WSLAY_PING.rawValue), msg: nil, msg_length: 0)
        _ = wslay_event_queue_msg(context, &message)
        flush()
        releaseFramingIfIdle()
    }

    /// Starts the close handshake with `code` and a short `reason` (no user data).
    public func close(_ code: WebSocketCloseCode, reason: String = "") {
        guard !isClosing, let context = framing() else { return }
        let reasonBytes = Array(reason.utf8.prefix(120))
        _ = reasonBytes.withUnsafeBufferPointer { wslay_event_queue_close(context, code.rawValue, $0.baseAddress, $0.count) }
        flush()
    }

    /// True once a close frame has been sent.
    public var isClosing: Bool { refusedMalformedFrame || context.map { wslay_event_get_close_sent($0) != 0 } ?? false }

    /// The close code the peer sent, if it sent one.
    public var closeCodeReceived: UInt16? {
        guard let context, wslay_event_get_close_received(context) != 0 else { return nil }
        return wslay_event_get_status_code_received(context)
    }

    /// The close code this side sent, if it sent one.
    public var closeCodeSent: UInt16? {
        guard let context, wslay_event_get_close_sent(context) != 0 else { return nil }
        return wslay_event_get_status_code_sent(context)
    }

    private func flush() {
        guard let context else { return }
        if wslay_event_want_write(context) != 0 { _ = wslay_event_send(context) }
        if queueFull {
            stream.close()
            if !queueFullReported {
                queueFullReported = true
                onQueueFull()
            }
            return
        }
        if wslay_event_want_read(context) == 0 && wslay_event_want_write(context) == 0 {
            stream.stopReading()
            stream.closeAfterWriting()
        }
    }

    /// Writes what wslay framed, unless the queue is full: then wslay keeps it and ``flush()``
    /// closes the stream (a peer that sends pings and never reads must not grow the server's memory).
    private func write(_ context: OpaquePointer?, _ bytes: UnsafeRawBufferPointer) -> Int {
        guard stream.queuedBytes + bytes.count <= maxQueuedBytes else {
            wslay_event_set_error(context, Int32(WSLAY_ERR_WOULDBLOCK.rawValue))
            queueFull = true
            return -1
        }
        stream.write(OutboundBytes(bytes))
        return bytes.count
    }

    private func readInput(_ context: OpaquePointer?, _ buffer: UnsafeMutablePointer<UInt8>?, _ length: Int) -> Int {
        guard input.count > 0, let buffer else {
            wslay_event_set_error(context, Int32(WSLAY_ERR_WOULDBLOCK.rawValue))
            return -1
        }
        let count = Swift.min(length, input.count)
        UnsafeMutableRawPointer(buffer).copyMemory(from: input.baseAddress!, byteCount: count)
        boundary.handedOver(count)
        input = UnsafeRawBufferPointer(rebasing: input[count...])
        return count
    }

    private func received(_ message: wslay_event_on_msg_recv_arg) {
        let bytes = UnsafeRawBufferPointer(start: message.msg, count: message.msg_length)
        switch UInt32(message.opcode) {
        case WSLAY_TEXT_FRAME.rawValue:
            guard String(validating: bytes, as: UTF8.self) != nil else {
                close(.invalidPayload, reason: "text message is not valid UTF-8")
                return
            }
            onText(bytes)
        case WSLAY_BINARY_FRAME.rawValue:
            close(.unsupportedData, reason: "binary messages are not supported")
        default:
            break
        }
    }

    private static func from(_ user: UnsafeMutableRawPointer?) -> WebSocketSession {
        Unmanaged<WebSocketSession>.fromOpaque(user!).takeUnretainedValue()
    }
}
