import HavenNet

/// Messages from one loop to another, gathered over a turn of the sending loop and handed over in
/// one batch at its end: one wake-up of the receiving loop per turn, whatever the number of
/// messages. Sending loop only.
final class LoopOutbox<Message: Sendable> {
    private let source: EventLoop
    private let target: EventLoop
    private let receive: @Sendable ([Message]) -> Void
    private var waiting: [Message] = []

    /// An outbox from `source` to `target`, whose thread runs `receive` with each batch in order.
    init(from source: EventLoop, to target: EventLoop, receive: @escaping @Sendable ([Message]) -> Void) {
        self.source = source
        self.target = target
        self.receive = receive
    }

    /// Adds `message` to this turn's batch.
    func post(_ message: Message) {
        if waiting.isEmpty { source.atTurnEnd { [self] in handOver() } }
        waiting.append(message)
    }

    private func handOver() {
        let batch = waiting
        waiting.removeAll()
        let receive = receive
        target.execute { receive(batch) }
    }
}
