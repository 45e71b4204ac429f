import HavenNet
import HavenProtocol
import Synchronization

/// What one connection loop counts, readable from the core's thread.
final class ConnectionLoopFigures: Sendable {
    /// The loop's WebSocket server's counters.
    let network = NetworkFigures()
    let written = Atomic<Int>(0)

    /// Live messages written to recipients on this loop.
    var deliveries: Int { written.load(ordering: .relaxed) }
}

/// The network side of one event loop: its share of the connections (accepted on a listener that
/// shares the server's address with the other loops'), their reading, decoding and writing, and
/// the room-message signature checks. What to do with a message is the core's to decide (the
/// ``HavenServer`` on loop 0): the connection loop tells it what happened, in order, and carries
/// out its orders. On the core's own loop both happen at once; from any other, in one batch per
/// turn each way. Loop thread only.
final class ConnectionLoop: WebSocketServerDelegate {
    /// This loop's number, from 0.
    let index: Int
    /// What this loop counts.
    let figures = ConnectionLoopFigures()
    let loop: EventLoop
    let coreLoop: EventLoop
    let core: LoopBound<HavenServer>
    /// The core itself, when it runs on this loop.
    private weak var coreHere: HavenServer?
    private var toCore: LoopOutbox<ConnectionEvent>?
    private(set) var network: WebSocketServer?
    /// Streams that fell behind, by connection, each with the number of its fall (see
    /// ``ConnectionOrder/deliver(_:to:stream:cursor:)``).
    private var behind: [Int: [ReplayStream: Int]] = [:]
    private var falls = 0
    /// How many messages a connection may have on their way to the core on another loop before
    /// it is not read until the core has handled them (see ``received(_:from:)``).
    private let messagesOnTheirWay: Int
    /// Messages on their way from each connection, counted since the batch the count began in.
    private var onTheirWay: [Int: (since: Int, count: Int)] = [:]
    /// Connections not read until the core has handled the batch given.
    private var heldUntil: [Int: Int] = [:]
    /// Connections the core asked not to read.
    private var pausedByCore: Set<Int> = []
    /// The last batch of this loop's events the core has handled.
    private var caughtUpThrough = 0

    /// The connection loop on `loop`, number `index`, reporting to `core` on `coreLoop`, which
    /// keeps a connection from sending more than `messagesOnTheirWay` messages ahead of it. It
    /// listens once ``listen(_:placement:)`` is called.
    init(loop: EventLoop, index: Int, core: LoopBound<HavenServer>, coreLoop: EventLoop, messagesOnTheirWay: Int) {
        loop.preconditionInLoop()
        self.loop = loop
        self.index = index
        self.core = core
        self.coreLoop = coreLoop
        self.messagesOnTheirWay = messagesOnTheirWay
        if loop === coreLoop {
            coreHere = core.value
        } else {
            toCore = LoopOutbox(from: loop, to: coreLoop) { batch, events in
                let server = core.value
                for event in events { server.handle(event) }
                server.loopLinks[index].post(.caughtUp(through: batch))
            }
        }
    }

    /// Binds (or, past the first loop, joins the first loop's listener) and starts accepting,
    /// counting each network's connections in `perNetwork` with the other loops.
    ///
    /// - Throws: ``UVError`` when the address cannot be bound.
    func listen(_ configuration: WebSocketServerConfiguration, placement: LoopPlacement, perNetwork: ConnectionsPerNetwork) throws {
        network = try WebSocketServer(
            loop: loop, configuration: configuration, delegate: self, placement: placement, figures: figures.network, perNetwork: perNetwork)
    }

    /// Stops accepting and closes every connection with "going away".
    func shutdown() {
        network?.shutdown(.goingAway)
    }

    /// Hands what this loop has told the core over now instead of at the end of the turn.
    func tellNow() {
        toCore?.handOver()
    }

    /// Tells the core `event`: at once on its own loop, at the end of this turn from another.
    func tell(_ event: ConnectionEvent) {
        if let coreHere { coreHere.handle(event) } else { toCore?.post(event) }
    }

    // MARK: Orders

    /// Carries out each of `orders`, in order.
    func apply(_ orders: [ConnectionOrder]) {
        for order in orders { apply(order) }
    }

    /// Carries out `order`.
    func apply(_ order: ConnectionOrder) {
        switch order {
        case .send(let frame, let ids):
            for id in ids { send(frame, to: id) }
        case .deliver(let frame, let ids, let stream, let cursor):
            deliver(frame, to: ids, stream: stream, cursor: cursor)
        case .close(let id, let code, let reason):
            network?.connections[id]?.close(code, reason: reason)
        case .limitMessages(let id, let bytes):
            network?.connections[id]?.limitMessages(to: bytes)
        case .pauseReading(let id):
            pausedByCore.insert(id)
            network?.connections[id]?.pauseReading()
        case .resumeReading(let id):
            pausedByCore.remove(id)
            if heldUntil[id] == nil { network?.connections[id]?.resumeReading() }
        case .tellWhenQueueBelow(let id, let bytes, let request):
            whenQueueBelow(bytes, on: id) { [weak self] in
                guard let self else { return }
                tell(.queueBelow(id, request: request, queuedBytes: queuedBytes(of: id)))
            }
        case .resumeLive(let id, let stream, let fall):
            if behind[id]?[stream] == fall { behind[id]?[stream] = nil }
        case .caughtUp(let batch):
            caughtUpThrough = batch
            for (id, until) in heldUntil where until <= batch {
                heldUntil[id] = nil
                if !pausedByCore.contains(id) { network?.connections[id]?.resumeReading() }
            }
        }
    }

    /// Sends a pre-framed message; false when the connection is gone, closing, or was just let go
    /// as a slow consumer.
    @discardableResult
    func send(_ frame: OutboundBytes, to id: Int) -> Bool {
        network?.connections[id]?.send(frame: frame) ?? false
    }

    /// Bytes waiting to be written to connection `id` (0 once it is gone).
    func queuedBytes(of id: Int) -> Int {
        network?.connections[id]?.queuedBytes ?? 0
    }

    /// Runs `action` once the bytes queued for connection `id` are at most `bytes`; never, once
    /// the connection is gone.
    func whenQueueBelow(_ bytes: Int, on id: Int, _ action: @escaping () -> Void) {
        network?.connections[id]?.whenQueueBelow(bytes, action)
    }

    /// Writes a live message to each connection whose stream is live here and whose queue has
    /// room; a queue already half full falls behind instead, and the core is told.
    private func deliver(_ frame: OutboundBytes, to ids: [Int], stream: ReplayStream, cursor: Int64) {
        guard let network else { return }
        let halfQueue = network.configuration.maxQueuedBytes / 2
        var written = 0
        for id in ids {
            guard let connection = network.connections[id], behind[id]?[stream] == nil else { continue }
            guard connection.queuedBytes + frame.count <= halfQueue else {
                falls += 1
                behind[id, default: [:]][stream] = falls
                tell(.fellBehind(id, stream: stream, cursor: cursor, fallBehind: falls))
                continue
            }
            if connection.send(frame: frame) { written += 1 }
        }
        figures.written.wrappingAdd(written, ordering: .relaxed)
    }

    // MARK: WebSocketServerDelegate

    /// Until login only an `auth` comes, a few hundred bytes: from its first byte a connection
    /// may send no longer message (raised at login), so a stranger cannot make any loop set aside
    /// room for a full-size message, whichever loop they land on.
    func opened(_ connection: WebSocketConnection) {
        connection.limitMessages(to: HavenServer.maxMessageBytesBeforeLogin)
        tell(.opened(connection.id, clientAddress: connection.clientAddress, loop: index))
    }

    /// From another loop than the core's, a connection that has sent ``messagesOnTheirWay``
    /// messages the core has not handled yet is not read until it has: the core's own holding
    /// back of a fast sender (``HavenServer/storeMessage(from:_:then:)``) reaches this loop a turn
    /// late, and meanwhile a sender could have the core read a great many more.
    func received(_ text: UnsafeRawBufferPointer, from connection: WebSocketConnection) {
        tell(.received(connection.id, ReceivedFrame(decoding: text)))
        guard let toCore else { return }
        let batch = toCore.currentBatch
        var counted = onTheirWay[connection.id] ?? (batch, 0)
        if counted.since <= caughtUpThrough { counted = (batch, 0) }
        counted.count += 1
        onTheirWay[connection.id] = counted
        guard counted.count >= messagesOnTheirWay else { return }
        onTheirWay[connection.id] = nil
        heldUntil[connection.id] = batch
        connection.pauseReading()
    }

    func closed(_ connection: WebSocketConnection) {
        onTheirWay[connection.id] = nil
        heldUntil[connection.id] = nil
        pausedByCore.remove(connection.id)
        behind[connection.id] = nil
        tell(.closed(connection.id))
    }
}
