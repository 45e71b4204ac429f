import Foundation
import HavenNet
import HavenProtocol
import Sodium

extension BenchRunner {
    /// The realistic mix: `mixRooms` small rooms (5 to 50 members), every member but one per room
    /// acting. At `mixOperationsPerSecond` they send room messages (7 in 10 operations), private
    /// messages to the watching member of another room (2 in 10), and leave their room and join it
    /// again (1 in 10). Each room's watching member decodes what it receives, for delivery latency.
    func mixPhase() throws -> [String: Any] {
        let rooms = MixPlan.roomIDs(count: configuration.mixRooms)
        let sizes = MixPlan.sizes(count: rooms.count)
        var byRoom: [[LoopBound<LoadClient>]] = []
        for size in sizes { byRoom.append(try connect(size)) }
        for (room, members) in zip(rooms, byRoom) {
            try wait { generator, done in generator.join(members.map(\.value), room: room, done: done) }
        }
        let probes = byRoom.map { $0[0] }
        for probe in probes {
            try loop.submitAndWait { probe.value.send(.syncDirect(DirectSyncRequest(after: 0))) }
        }
        let actors = zip(rooms.indices, byRoom).flatMap { index, members in members.dropFirst().map { (index, $0) } }
        let seconds = configuration.windowSeconds
        let operations = configuration.mixOperationsPerSecond * seconds / Double(actors.count)
        let roomFrames = Int((operations * 0.7).rounded(.up)) + 2
        let directFrames = Int((operations * 0.2).rounded(.up)) + 2
        let probeMembers = try loop.submitAndWait { probes.map(\.value.member) }
        let keys = try rooms.map { try EpochKey.generate(room: $0, epoch: 0) }
        let identities = try loop.submitAndWait { actors.map(\.1.value.identity) }
        let sealed = Locked<[(room: [(MessageID, [UInt8])], direct: [(MessageID, [UInt8])])]>(Array(repeating: ([], []), count: actors.count))
        DispatchQueue.concurrentPerform(iterations: actors.count) { index in
            let roomIndex = actors[index].0
            let recipient = probeMembers[(roomIndex + 1) % rooms.count]
            let identity = identities[index]
            let room = (0..<roomFrames).compactMap { _ -> (MessageID, [UInt8])? in
                guard let envelope = try? RoomEnvelope.seal(MessageBody(text: "mix message"), key: keys[roomIndex], sender: identity) else { return nil }
                return (envelope.id, FrameCodec.encode(.send(EnvelopeFrame(envelope: envelope))))
            }
            let direct = (0..<directFrames).compactMap { _ -> (MessageID, [UInt8])? in
                guard let message = try? DirectMessage.seal(MessageBody(text: "mix message"), from: identity, to: recipient) else { return nil }
                return (message.id, FrameCodec.encode(.direct(DirectFrame(message: message))))
            }
            sealed.withLock { $0[index] = (room, direct) }
        }
        let frames = sealed.withLock { $0 }
        let rate = configuration.mixOperationsPerSecond
        let mix: LoopBound<MixLoad> = try loop.submitAndWait { [loop] in
            for ((_, actor), queues) in zip(actors, frames) {
                actor.value.queue = queues.room.map { (id: $0.0, frame: $0.1) }
                actor.value.queueIndex = 0
                actor.value.directQueue = queues.direct.map { (id: $0.0, frame: $0.1) }
                actor.value.directQueueIndex = 0
            }
            let mixActors = actors.map { MixLoad.Actor(client: $0.1.value, room: rooms[$0.0]) }
            return LoopBound(MixLoad(loop: loop, actors: mixActors, probes: probes.map(\.value)), loop: loop)
        }
        let everyone = byRoom.flatMap { $0 }
        func totals() throws -> (deliveries: Int, refusals: Int) {
            try loop.submitAndWait { (everyone.reduce(0) { $0 + $1.value.deliveries }, everyone.reduce(0) { $0 + $1.value.refusals }) }
        }
        let before = try totals()
        let serverBefore = server.sample()
        let began = Date()
        try loop.submitAndWait { try mix.value.start(perSecond: rate) }
        Thread.sleep(forTimeInterval: seconds)
        try loop.submitAndWait { mix.value.stop() }
        let elapsed = Date().timeIntervalSince(began)
        let after = try totals()
        let serverCosts = server.sample().costs(since: serverBefore, seconds: elapsed, deliveries: after.deliveries - before.deliveries)
        Thread.sleep(forTimeInterval: 1)
        let results = try loop.submitAndWait { mix.value.results }
        return [
            "rooms": rooms.count,
            "members": everyone.count,
            "offered_operations_per_s": rate,
            "offered": results.offered,
            "skipped": results.skipped,
            "completed": results.completed,
            "latency_ms": results.latency,
            "seconds": (elapsed * 100).rounded() / 100,
            "deliveries_per_s": Double(after.deliveries - before.deliveries) / elapsed,
            "refusals": after.refusals - before.refusals,
            "server": serverCosts,
        ]
    }
}
