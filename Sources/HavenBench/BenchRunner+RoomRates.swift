import Foundation
import HavenNet
import HavenProtocol
import Sodium

extension BenchRunner {
    /// The room the room-rate phase uses (its own, so it can run after the room phase).
    static let rateRoom = try! RoomID("bench-rates")

    /// The room workload of the comparison with XMPP servers: 100 members, 20 of them sending
    /// bodies of `roomRateBodyBytes` at each of `roomRates` messages a second in turn. Each window
    /// reports the messages sent and acknowledged, the deliveries that arrived (counted until two
    /// seconds after the window, against one per other member for each message sent), latency at
    /// the probes, and the server's CPU time per delivery. One line per rate goes to `report`.
    func roomRatePhase(report: (String) -> Void) throws -> [[String: Any]] {
        let room = Self.rateRoom
        let members = try connect(configuration.roomMembers)
        try wait { generator, done in generator.join(members.map(\.value), room: room, done: done) }
        let senders = Array(members.prefix(configuration.roomSenders))
        let probes = Array(members.dropFirst(configuration.roomSenders).prefix(configuration.latencyProbes))
        let key = try EpochKey.generate(room: room, epoch: 0)
        let body = MessageBody(text: String(repeating: "x", count: configuration.roomRateBodyBytes))
        let generator = generator
        try loop.submitAndWait { generator.value.instrument(senders: senders.map(\.value), probes: probes.map(\.value)) }
        var lines: [[String: Any]] = []
        for rate in configuration.roomRates {
            try fill(senders, count: Int(rate * configuration.windowSeconds) / senders.count + 2) { identity in
                let envelope = try RoomEnvelope.seal(body, key: key, sender: identity)
                return (envelope.id, FrameCodec.encode(.send(EnvelopeFrame(envelope: envelope))))
            }
            var line = try window(members, senders: senders, rate: rate)
            line["phase"] = "room_rate"
            line["server_name"] = "haven"
            report(Self.json(line))
            lines.append(line)
        }
        return lines
    }

    private func window(_ members: [LoopBound<LoadClient>], senders: [LoopBound<LoadClient>], rate: Double) throws -> [String: Any] {
        func totals() throws -> (sent: Int, acks: Int, deliveries: Int) {
            try loop.submitAndWait {
                (senders.reduce(0) { $0 + $1.value.queueIndex }, senders.reduce(0) { $0 + $1.value.acks },
                 members.reduce(0) { $0 + $1.value.deliveries })
            }
        }
        let generator = generator
        try loop.submitAndWait { generator.value.latency.reset() }
        let start = try totals()
        let serverBefore = server.sample()
        let began = Date()
        try loop.submitAndWait { try generator.value.pace(senders.map(\.value), perSecond: rate) }
        Thread.sleep(forTimeInterval: configuration.windowSeconds)
        try loop.submitAndWait { generator.value.stop() }
        let elapsed = Date().timeIntervalSince(began)
        let paced = try totals()
        let costs = server.sample().costs(since: serverBefore, seconds: elapsed, deliveries: paced.deliveries - start.deliveries)
        Thread.sleep(forTimeInterval: 2)
        let end = try totals()
        let sent = end.sent - start.sent
        let expected = sent * (members.count - 1)
        let delivered = end.deliveries - start.deliveries
        return [
            "offered_messages_per_s": rate,
            "seconds": (elapsed * 100).rounded() / 100,
            "messages_per_s": Double(paced.acks - start.acks) / elapsed,
            "deliveries_per_s": Double(paced.deliveries - start.deliveries) / elapsed,
            "sent": sent,
            "expected_deliveries": expected,
            "delivered": delivered,
            "delivered_share": expected == 0 ? 0 : Double(delivered) / Double(expected),
            "latency_ms": try loop.submitAndWait { generator.value.latency.percentilesMilliseconds },
            "server": costs,
        ]
    }
}
