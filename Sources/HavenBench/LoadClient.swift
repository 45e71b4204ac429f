import HavenNet
import HavenProtocol
import Sodium

/// One lightweight benchmark connection on the generator's loop: it logs in, joins, sends
/// pre-sealed frames within a window of unacknowledged ones, and counts what it receives.
///
/// Frames shorter than 256 bytes are control frames (ack, synced, joined...) and are decoded;
/// longer ones are deliveries (room or direct messages) and are only counted, except on latency
/// probes, which decode them to find the message id. Loop thread only.
final class LoadClient {
    let identity: SigningKeyPair
    let member: MemberID
    var connection: WebSocketClientConnection?
    var isProbe = false
    var deliveries = 0
    var acks = 0
    var outstanding = 0
    var refusals = 0
    var queue: [(id: MessageID, frame: [UInt8])] = []
    var queueIndex = 0
    /// Direct messages, for a client that sends room and direct ones in turn (the mix phase).
    var directQueue: [(id: MessageID, frame: [UInt8])] = []
    var directQueueIndex = 0
    var onReady: ((Bool) -> Void)?
    var onSynced: (() -> Void)?
    var onAck: (() -> Void)?
    var acked: ((MessageID) -> Void)?
    var onDelivery: ((MessageID) -> Void)?
    var sentAt: ((MessageID) -> Void)?

    init(identity: SigningKeyPair) {
        self.identity = identity
        member = MemberID(identity.publicKey)
    }

    func connect(loop: EventLoop, port: Int, completion: @escaping (Bool) -> Void) {
        onReady = completion
        WebSocketClientConnection.connect(loop: loop, host: "127.0.0.1", port: port) { [self] result in
            guard case .success(let connection) = result else {
                finishReady(false)
                return
            }
            self.connection = connection
            // Deliveries can still arrive after a phase let its clients go.
            connection.onText = { [weak self] text in self?.received(text) }
            connection.onClose = { [weak self] _ in self?.finishReady(false) }
        }
    }

    private func finishReady(_ ok: Bool) {
        let ready = onReady
        onReady = nil
        ready?(ok)
    }

    func send(_ frame: Frame) {
        connection?.send(text: FrameCodec.encode(frame))
    }

    /// Sends the next queued frame, if any, and returns its id; nil when the queue is exhausted.
    @discardableResult
    func sendNext() -> MessageID? {
        send(from: queue, at: &queueIndex)
    }

    /// Sends the next queued direct message, if any, and returns its id; nil when none is left.
    func sendNextDirect() -> MessageID? {
        send(from: directQueue, at: &directQueueIndex)
    }

    private func send(from frames: [(id: MessageID, frame: [UInt8])], at index: inout Int) -> MessageID? {
        guard index < frames.count, let connection else { return nil }
        let next = frames[index]
        index += 1
        outstanding += 1
        sentAt?(next.id)
        connection.send(text: next.frame)
        return next.id
    }

    private func received(_ text: UnsafeRawBufferPointer) {
        guard text.count < 256 else {
            deliveries += 1
            if isProbe, let onDelivery, let id = Self.deliveredID(text) { onDelivery(id) }
            return
        }
        guard let frame = try? FrameCodec.decode(Array(text)) else { return }
        switch frame {
        case .challenge(let challenge):
            send(.auth(challenge.respond(identity: identity, displayName: "bench")))
        case .welcome:
            finishReady(true)
        case .ack(let ack):
            acks += 1
            outstanding -= 1
            acked?(ack.id)
            onAck?()
        case .error:
            refusals += 1
        case .synced:
            onSynced?()
        default:
            break
        }
    }

    private static func deliveredID(_ text: UnsafeRawBufferPointer) -> MessageID? {
        switch try? FrameCodec.decode(Array(text)) {
        case .message(let frame)?: return frame.envelope.id
        case .direct(let frame)?: return frame.message.id
        default: return nil
        }
    }
}
