import CWslay

/// Frames a server-to-client message once with wslay's frame API, so fan-out writes the
/// same bytes to every recipient (server frames are unmasked, hence identical for all).
/// One encoder per loop; loop thread only.
public final class WebSocketFrameEncoder {
    private var context: OpaquePointer?
    private var callbacks = wslay_frame_callbacks()
    private var output: [UInt8] = []

    /// Creates an encoder.
    public init() throws {
        callbacks.send_callback = { data, length, _, user in
            let encoder = Unmanaged<WebSocketFrameEncoder>.fromOpaque(user!).takeUnretainedValue()
            encoder.output += UnsafeRawBufferPointer(start: data, count: length)
            return length
        }
        callbacks.recv_callback = { _, _, _, _ in -1 }
        callbacks.genmask_callback = { _, _, _ in -1 }
        guard wslay_frame_context_init(&context, &callbacks, Unmanaged.passUnretained(self).toOpaque()) == 0 else {
            throw UVError(code: -12, function: "wslay_frame_context_init")
        }
    }

    deinit {
        if let context { wslay_frame_context_free(context) }
    }

    /// One complete, unmasked text frame carrying `payload`.
    public func textFrame(_ payload: [UInt8]) -> OutboundBytes {
        frame(opcode: UInt8(WSLAY_TEXT_FRAME.rawValue), payload: payload)
    }

    /// An unmasked close frame carrying `code` and no reason.
    public func closeFrame(_ code: WebSocketCloseCode) -> OutboundBytes {
        frame(opcode: UInt8(WSLAY_CONNECTION_CLOSE.rawValue), payload: [UInt8(code.rawValue >> 8), UInt8(code.rawValue & 0xFF)])
    }

    private func frame(opcode: UInt8, payload: [UInt8]) -> OutboundBytes {
        output.removeAll(keepingCapacity: true)
        output.reserveCapacity(payload.count + 10)
        payload.withUnsafeBufferPointer { buffer in
            var frame = wslay_frame_iocb(
                fin: 1, rsv: 0, opcode: opcode, payload_length: UInt64(buffer.count), mask: 0,
                data: buffer.baseAddress, data_length: buffer.count)
            var sent = 0
            repeat {
                let result = wslay_frame_send(context, &frame)
                precondition(result >= 0, "wslay_frame_send failed with an in-memory sink")
                sent += result
                frame.data = frame.data.map { $0 + result }
                frame.data_length -= result
            } while sent < buffer.count
        }
        return OutboundBytes(output)
    }
}
