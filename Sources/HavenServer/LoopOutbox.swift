import HavenNet

/// Messages from one loop to another, gathered over a turn of the sending loop and handed over in
/// one batch at its end: one wake-up of the receiving loop per turn, whatever the number of
/// messages. Batches are numbered from 1. Sending loop only.
final class LoopOutbox<Message: Sendable> {
    private let source: EventLoop
    private let target: EventLoop
    private let receive: @Sendable (_ batch: Int, [Message]) -> Void
    private var waiting: [Message] = []
    private var handedOver = 0

    /// An outbox from `source` to `target`, whose thread runs `receive` with each batch, in order.
    init(from source: EventLoop, to target: EventLoop, receive: @escaping @Sendable (_ batch: Int, [Message]) -> Void) {
        self.source = source
        self.target = target
        self.receive = receive
    }

    /// The number of the batch a message posted now goes in.
    var currentBatch: Int { handedOver + 1 }

    /// Adds `message` to this turn's batch.
    func post(_ message: Message) {
        if waiting.isEmpty { source.atTurnEnd { [self] in handOver() } }
        waiting.append(message)
    }

    /// Hands this turn's batch over now (at the end of the turn, the outbox does it itself).
    func handOver() {
        guard !waiting.isEmpty else { return }
        let batch = waiting
        waiting.removeAll()
        handedOver += 1
        let number = handedOver
        let receive = receive
        target.execute { receive(number, batch) }
    }
}
