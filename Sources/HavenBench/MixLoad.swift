import HavenNet
import Histogram
import HavenProtocol

/// The realistic mix on the generator's loop: members of many small rooms send room messages,
/// send private messages to members of other rooms, and leave and join their room again, at a
/// fixed offered rate, each kind of operation with its own latency. Loop thread only.
final class MixLoad {
    /// A member that acts, and the room it is in.
    struct Actor {
        let client: LoadClient
        let room: RoomID
    }

    enum Operation: String, CaseIterable {
        case roomMessage = "room", directMessage = "direct", rejoin
    }

    /// Seven room messages, two private messages and one leave-and-join in every ten operations.
    static let cycle: [Operation] = Array(repeating: .roomMessage, count: 7) + [.directMessage, .directMessage, .rejoin]

    private let loop: EventLoop
    private let actors: [Actor]
    /// Sent to acknowledged, and sent to delivered at the watcher, by kind of message.
    private var acks: [Operation: LatencyRecorder] = [.roomMessage: LatencyRecorder(), .directMessage: LatencyRecorder()]
    private var deliveries: [Operation: LatencyRecorder] = [.roomMessage: LatencyRecorder(), .directMessage: LatencyRecorder()]
    /// Leave and join again, to `synced`.
    private var rejoin = LatencyRecorder()
    private var rejoining: Set<ObjectIdentifier> = []
    private var nextActor: [Operation: Int] = [:]
    private var started = 0
    private var skipped = 0
    private var timer: LoopTimer?

    /// Wires the actors' acks and the probes' deliveries (each room's probe is in the room and
    /// receives the private messages sent to it) to the latency recorders.
    init(loop: EventLoop, actors: [Actor], probes: [LoadClient]) {
        self.loop = loop
        self.actors = actors
        for actor in actors {
            // Late answers can arrive after the phase let the mix go.
            actor.client.acked = { [weak self] id in
                guard let self else { return }
                for kind in acks.keys { acks[kind]?.markReceived(id) }
            }
        }
        for probe in probes {
            probe.isProbe = true
            probe.onDelivery = { [weak self] id in
                guard let self else { return }
                for kind in deliveries.keys { deliveries[kind]?.markReceived(id) }
            }
        }
    }

    /// Starts offering `perSecond` operations, paced every millisecond, in ``cycle``'s proportions.
    func start(perSecond: Double) throws {
        let began = loop.nowMilliseconds
        let timer = try LoopTimer(loop: loop) { [unowned self] in
            let due = Int(Double(loop.nowMilliseconds - began) / 1000 * perSecond)
            while started < due {
                perform(Self.cycle[started % Self.cycle.count])
                started += 1
            }
        }
        timer.start(after: 1, repeatEvery: 1)
        self.timer = timer
    }

    /// Stops offering operations.
    func stop() {
        timer?.close()
        timer = nil
    }

    /// What the mix measured.
    struct Results: Sendable {
        /// p50, p99 and p99.9 in milliseconds, by operation.
        var latency: [String: [String: Double]]
        /// Operations completed, by operation.
        var completed: [String: Int]
        /// Operations offered.
        var offered: Int
        /// Operations no member was free to do, or whose member had no frames left.
        var skipped: Int
    }

    /// The latency and counts so far.
    var results: Results {
        let recorders = acks.map { ("\($0.key.rawValue)_ack", $0.value) } + deliveries.map { ("\($0.key.rawValue)_delivery", $0.value) }
            + [("rejoin", rejoin)]
        return Results(
            latency: Dictionary(uniqueKeysWithValues: recorders.map { ($0.0, $0.1.percentilesMilliseconds) }),
            completed: Dictionary(uniqueKeysWithValues: recorders.map { ($0.0, Int($0.1.histogram.totalCount)) }),
            offered: started, skipped: skipped)
    }

    private func perform(_ operation: Operation) {
        guard let actor = nextFreeActor(for: operation) else {
            skipped += 1
            return
        }
        let client = actor.client
        switch operation {
        case .roomMessage, .directMessage:
            // The frame goes out at the end of this turn of the loop: its send time is now.
            guard let id = operation == .roomMessage ? client.sendNext() : client.sendNextDirect() else {
                skipped += 1
                return
            }
            acks[operation]?.markSent(id)
            deliveries[operation]?.markSent(id)
        case .rejoin:
            let key = ObjectIdentifier(client)
            let began = LatencyRecorder.nowMicroseconds()
            rejoining.insert(key)
            client.onSynced = { [weak self, unowned client] in
                client.onSynced = nil
                self?.rejoin.recordSince(began)
                self?.rejoining.remove(key)
            }
            client.send(.leave(RoomRef(room: actor.room)))
            client.send(.join(JoinRequest(room: actor.room)))
        }
    }

    /// The next actor in turn for `operation` that is not between leaving and joining again.
    private func nextFreeActor(for operation: Operation) -> Actor? {
        var cursor = nextActor[operation, default: 0]
        defer { nextActor[operation] = cursor }
        for _ in 0..<actors.count {
            let actor = actors[cursor % actors.count]
            cursor += 1
            if !rejoining.contains(ObjectIdentifier(actor.client)) { return actor }
        }
        return nil
    }
}
