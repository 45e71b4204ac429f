import Foundation
import HavenNet
import HavenProtocol
import Sodium

/// The load generator's state on its event loop: clients, pacing, counters and latency.
/// Every method runs on the loop thread (the runner reaches it with `submitAndWait`).
final class Generator {
    let loop: EventLoop
    /// The nodes' ports: clients are spread over them in turn.
    let ports: [Int]
    var latency = LatencyRecorder()
    private var pacer: LoopTimer?
    private var running = false

    init(loop: EventLoop, ports: [Int]) {
        self.loop = loop
        self.ports = ports
    }

    /// Connects and logs in `identities.count` clients, `concurrency` at a time; calls `done`
    /// with the clients that made it, in the order of `identities`.
    func connect(_ identities: [SigningKeyPair], concurrency: Int = 200, done: @escaping ([LoadClient]) -> Void) {
        var next = 0
        var finished = 0
        // In the order asked, not the order logged in: the quickest logins (on the server's
        // core loop, say) must not all become a phase's senders.
        var ready: [LoadClient?] = Array(repeating: nil, count: identities.count)
        func start() {
            guard next < identities.count else { return }
            let index = next
            let client = LoadClient(identity: identities[index])
            next += 1
            client.connect(loop: loop, port: ports[index % ports.count]) { ok in
                if ok { ready[index] = client }
                finished += 1
                if finished == identities.count { done(ready.compactMap { $0 }) } else { start() }
            }
        }
        for _ in 0..<min(concurrency, identities.count) { start() }
        if identities.isEmpty { done([]) }
    }

    /// Closes every client's connection and calls `done` once all are closed.
    func close(_ clients: [LoadClient], done: @escaping () -> Void) {
        var remaining = clients.count
        guard remaining > 0 else { return done() }
        for client in clients {
            client.connection?.onClose = { _ in
                remaining -= 1
                if remaining == 0 { done() }
            }
            client.connection?.close()
        }
    }

    /// Joins every client to `room` and calls `done` once all are synced.
    func join(_ clients: [LoadClient], room: RoomID, done: @escaping () -> Void) {
        var remaining = clients.count
        for client in clients {
            client.onSynced = {
                client.onSynced = nil
                remaining -= 1
                if remaining == 0 { done() }
            }
            client.send(.join(JoinRequest(room: room)))
        }
    }

    /// Wires latency probes: their decoded deliveries close the sender's timestamp.
    func instrument(senders: [LoadClient], probes: [LoadClient]) {
        for sender in senders { sender.sentAt = { [unowned self] id in latency.markSent(id) } }
        for probe in probes {
            probe.isProbe = true
            probe.onDelivery = { [unowned self] id in latency.markReceived(id) }
        }
    }

    /// Saturation: every sender keeps `window` messages unacknowledged until stopped.
    func saturate(_ senders: [LoadClient], window: Int) {
        running = true
        for sender in senders {
            sender.onAck = { [unowned self, unowned sender] in
                if running { sender.sendNext() }
            }
            for _ in 0..<window { sender.sendNext() }
        }
    }

    /// Fixed offered load: `perSecond` messages spread over the senders, paced every millisecond.
    func pace(_ senders: [LoadClient], perSecond: Double) throws {
        running = true
        for sender in senders { sender.onAck = nil }
        let started = loop.nowMilliseconds
        var sent = 0
        var turn = 0
        let timer = try LoopTimer(loop: loop) { [unowned self] in
            guard running else { return }
            let due = Int(Double(loop.nowMilliseconds - started) / 1000 * perSecond)
            while sent < due {
                let sender = senders[turn % senders.count]
                turn += 1
                guard sender.sendNext() != nil else { return }
                sent += 1
            }
        }
        timer.start(after: 1, repeatEvery: 1)
        pacer = timer
    }

    func stop() {
        running = false
        pacer?.close()
        pacer = nil
    }
}
