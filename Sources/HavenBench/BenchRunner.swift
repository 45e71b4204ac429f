import Foundation
import HavenNet
import HavenProtocol
import Sodium

/// Runs `haven bench`: starts a server in a child process and drives it from one process with
/// many connections, measuring idle memory, room fan-out, direct messages and latency.
public final class BenchRunner {
    let configuration: BenchConfiguration
    let loop: EventLoop
    /// The first node: its memory and CPU are the ones reported.
    let server: ServerUnderTest
    /// The other nodes, when there are several.
    let otherNodes: [ServerUnderTest]
    let generator: LoopBound<Generator>
    private let room = try! RoomID("bench")

    /// Starts the server and the generator's loop.
    public init(configuration: BenchConfiguration) throws {
        self.configuration = configuration
        let rooms = [Self.rateRoom] + MixPlan.roomIDs(count: configuration.mixRooms)
        server = try ServerUnderTest(configuration, rooms: rooms)
        otherNodes = try (1..<max(1, configuration.nodes)).map { _ in try ServerUnderTest(configuration, rooms: rooms) }
        loop = try EventLoop()
        loop.start()
        let ports = ([server] + otherNodes).map(\.port)
        let loop = loop
        generator = try loop.submitAndWait { LoopBound(Generator(loop: loop, ports: ports), loop: loop) }
        // Nodes hear each other within a few seconds of starting (a node says it is alive every five).
        for node in [server] + otherNodes { try node.waitToHear(otherNodes.count) }
    }

    /// Runs every phase, printing one JSON line per phase with `report`, and returns the summary.
    public func run(report: (String) -> Void) throws -> [String: Any] {
        defer {
            loop.shutdown()
            server.stop()
            otherNodes.forEach { $0.stop() }
        }
        let phases = configuration.phases
        let idle = phases.contains(.idle) ? try idlePhase() : [:]
        if phases.contains(.idle) { report(Self.json(["phase": "idle"].merging(idle) { $1 })) }
        let roomResult = phases.contains(.room) ? try roomPhase() : [:]
        if phases.contains(.room) { report(Self.json(["phase": "room"].merging(roomResult) { $1 })) }
        let direct = phases.contains(.direct) ? try directPhase() : [:]
        if phases.contains(.direct) { report(Self.json(["phase": "direct"].merging(direct) { $1 })) }
        let rates = phases.contains(.roomRate) ? try roomRatePhase(report: report) : []
        let mix = phases.contains(.mix) ? try mixPhase() : [:]
        if phases.contains(.mix) { report(Self.json(["phase": "mix"].merging(mix) { $1 })) }
        let logJoin = phases.contains(.logJoin)
            ? try LogJoinPhase(configuration: configuration).run()
            : [:]
        if phases.contains(.logJoin) { report(Self.json(["phase": "log_join"].merging(logJoin) { $1 })) }
        let store = phases.contains(.store) ? try StorePhase(configuration: configuration).run() : [:]
        if phases.contains(.store) { report(Self.json(["phase": "store"].merging(store) { $1 })) }
        let roomSaturation = roomResult["saturation"] as? [String: Any] ?? [:]
        let directSaturation = direct["saturation"] as? [String: Any] ?? [:]
        let roomFixed = roomResult["fixed_load"] as? [String: Any] ?? [:]
        return [
            "connections": idle["connections"] ?? 0,
            "rss_bytes_per_idle_connection": idle["rss_bytes_per_idle_connection"] ?? 0,
            "room_deliveries_per_s": roomSaturation["deliveries_per_s"] ?? 0,
            "dm_deliveries_per_s": directSaturation["deliveries_per_s"] ?? 0,
            "latency_ms": roomFixed["latency_ms"] ?? [:],
            "durable_commits_per_s": directSaturation["commits_per_s"] ?? 0,
            "store_alone_commits_per_s": (store["saturation"] as? [String: Any])?["commits_per_s"] ?? 0,
            "log_join": logJoin,
            "mix_latency_ms": mix["latency_ms"] ?? [:],
            "room_rates": rates,
            "server_loops": configuration.serverLoops.map { $0 as Any } ?? "one per core",
            "server_cpus": configuration.serverCPUs ?? "any",
            "nodes": configuration.nodes,
            "store": configuration.serverStore == nil ? "sqlite" : "postgres",
        ]
    }

    // MARK: Phases

    /// Holds `idleConnections` logged-in members, reports the server's memory per connection and
    /// how long connecting and logging them in took, then closes them so that the next phases
    /// have the open-files limit to themselves.
    private func idlePhase() throws -> [String: Any] {
        let warmup = min(100, configuration.idleConnections)
        let first = try connect(warmup)
        Thread.sleep(forTimeInterval: 1)
        let before = server.residentBytes()
        let began = Date()
        let rest = try connect(configuration.idleConnections - warmup)
        let loginSeconds = Date().timeIntervalSince(began)
        Thread.sleep(forTimeInterval: 2)
        let after = server.residentBytes()
        let held = first + rest
        try wait { generator, done in generator.close(held.map(\.value), done: done) }
        return [
            "connections": held.count,
            "rss_bytes_before": before,
            "rss_bytes_after": after,
            "rss_bytes_per_idle_connection": held.count > warmup ? (after - before) / (held.count - warmup) : 0,
            "login_seconds": (loginSeconds * 100).rounded() / 100,
            "logins_per_s": rest.isEmpty ? 0 : (Double(rest.count) / loginSeconds).rounded(),
        ]
    }

    private func roomPhase() throws -> [String: Any] {
        let members = try connect(configuration.roomMembers)
        let room = room
        try wait { generator, done in generator.join(members.map(\.value), room: room, done: done) }
        let senders = Array(members.prefix(configuration.roomSenders))
        let probes = Array(members.dropFirst(configuration.roomSenders).prefix(configuration.latencyProbes))
        let key = try EpochKey.generate(room: room, epoch: 0)
        let perSender = configuration.window * 2 + Int(12_000 * configuration.windowSeconds) / senders.count
        try fill(senders, count: perSender) { identity in
            let envelope = try RoomEnvelope.seal(MessageBody(text: "benchmark message"), key: key, sender: identity)
            return (envelope.id, FrameCodec.encode(.send(EnvelopeFrame(envelope: envelope))))
        }
        let everyone = members
        let instrumented = (senders, probes)
        let generator = generator
        try loop.submitAndWait { generator.value.instrument(senders: instrumented.0.map(\.value), probes: instrumented.1.map(\.value)) }
        let saturation = try measure(everyone, senders: senders, fixedRate: nil)
        let fixedRate = max(1, (saturation["messages_per_s"] as? Double ?? 2) / 2)
        try fill(senders, count: Int(fixedRate * configuration.windowSeconds) / senders.count + 2) { identity in
            let envelope = try RoomEnvelope.seal(MessageBody(text: "benchmark message"), key: key, sender: identity)
            return (envelope.id, FrameCodec.encode(.send(EnvelopeFrame(envelope: envelope))))
        }
        let fixed = try measure(everyone, senders: senders, fixedRate: fixedRate)
        let sample = try RoomEnvelope.seal(MessageBody(text: "benchmark message"), key: key, sender: SigningKeyPair.generate())
        let padding = Self.padding(frame: FrameCodec.encode(.send(EnvelopeFrame(envelope: sample))),
                                   content: Franking.keyLength + (try MessageBody(text: "benchmark message").encoded()).count,
                                   padded: sample.ciphertext.count - 16)
        return ["members": members.count, "senders": senders.count, "saturation": saturation, "fixed_load": fixed, "padding": padding]
    }

    private func directPhase() throws -> [String: Any] {
        let senders = try connect(configuration.directPairs)
        let receivers = try connect(configuration.directPairs)
        let pairs = Array(zip(senders, receivers))
        let recipients = try loop.submitAndWait { receivers.map(\.value.member) }
        let perSender = configuration.window * 2 + Int(25_000 * configuration.windowSeconds) / max(1, pairs.count)
        try fill(senders, count: perSender, recipients: recipients) { identity, recipient in
            let message = try DirectMessage.seal(MessageBody(text: "benchmark message"), from: identity, to: recipient)
            return (message.id, FrameCodec.encode(.direct(DirectFrame(message: message))))
        }
        let probes = Array(receivers.prefix(configuration.latencyProbes))
        for receiver in receivers {
            try loop.submitAndWait { receiver.value.send(.syncDirect(DirectSyncRequest(after: 0))) }
        }
        let generator = generator
        try loop.submitAndWait { generator.value.instrument(senders: senders.map(\.value), probes: probes.map(\.value)) }
        let saturation = try measure(senders + receivers, senders: senders, fixedRate: nil)
        let fixedRate = max(1, (saturation["messages_per_s"] as? Double ?? 2) / 2)
        try fill(senders, count: Int(fixedRate * configuration.windowSeconds) / pairs.count + 2, recipients: recipients) { identity, recipient in
            let message = try DirectMessage.seal(MessageBody(text: "benchmark message"), from: identity, to: recipient)
            return (message.id, FrameCodec.encode(.direct(DirectFrame(message: message))))
        }
        let fixed = try measure(senders + receivers, senders: senders, fixedRate: fixedRate)
        let sample = try DirectMessage.seal(MessageBody(text: "benchmark message"), from: SigningKeyPair.generate(), to: recipients[0])
        let padding = Self.padding(frame: FrameCodec.encode(.direct(DirectFrame(message: sample))),
                                   content: 32 + 64 + Franking.keyLength + (try MessageBody(text: "benchmark message").encoded()).count,
                                   padded: sample.sealed.count - 48)
        return ["pairs": pairs.count, "saturation": saturation, "fixed_load": fixed, "padding": padding]
    }

    // MARK: Helpers

    /// What padding costs one benchmark message: its frame's size on the wire, the plaintext it
    /// encrypts, the bucket that plaintext is padded to, and the bytes padding adds to the frame
    /// (base64 carries 4 characters per 3 bytes).
    private static func padding(frame: [UInt8], content: Int, padded: Int) -> [String: Any] {
        ["frame_bytes": frame.count, "plaintext_bytes": content, "padded_bytes": padded,
         "frame_bytes_added": Int((Double(padded - content) * 4 / 3).rounded())]
    }

    func connect(_ count: Int) throws -> [LoopBound<LoadClient>] {
        let identities = try (0..<count).map { _ in try SigningKeyPair.generate() }
        let clients: [LoopBound<LoadClient>] = try wait { generator, done in
            generator.connect(identities) { done($0.map { LoopBound($0, loop: generator.loop) }) }
        }
        guard clients.count == count else { throw BenchError("only \(clients.count) of \(count) connections logged in") }
        return clients
    }

    /// Pre-seals `count` frames per sender (off the loop, on all cores) and queues them.
    func fill(
        _ senders: [LoopBound<LoadClient>], count: Int, recipients: [MemberID]? = nil,
        make: @escaping @Sendable (SigningKeyPair, MemberID) throws -> (MessageID, [UInt8])
    ) throws {
        let identities = try senders.map { sender in try loop.submitAndWait { sender.value.identity } }
        let batches = Locked<[[(MessageID, [UInt8])]]>(Array(repeating: [], count: senders.count))
        DispatchQueue.concurrentPerform(iterations: senders.count) { index in
            let recipient = recipients?[index] ?? MemberID(identities[index].publicKey)
            let frames = (0..<count).compactMap { _ in try? make(identities[index], recipient) }
            batches.withLock { $0[index] = frames }
        }
        let all = batches.withLock { $0 }
        for (sender, frames) in zip(senders, all) {
            try loop.submitAndWait {
                sender.value.queue = frames.map { (id: $0.0, frame: $0.1) }
                sender.value.queueIndex = 0
            }
        }
    }

    func fill(_ senders: [LoopBound<LoadClient>], count: Int, make: @escaping @Sendable (SigningKeyPair) throws -> (MessageID, [UInt8])) throws {
        try fill(senders, count: count, recipients: nil) { identity, _ in try make(identity) }
    }

    /// Runs one measured window and returns rates (and latency, from the probes).
    private func measure(_ receivers: [LoopBound<LoadClient>], senders: [LoopBound<LoadClient>], fixedRate: Double?) throws -> [String: Any] {
        func totals() throws -> (deliveries: Int, acks: Int) {
            try loop.submitAndWait {
                (receivers.reduce(0) { $0 + $1.value.deliveries }, senders.reduce(0) { $0 + $1.value.acks })
            }
        }
        let generator = generator
        let window = configuration.window
        try loop.submitAndWait { generator.value.latency.reset() }
        let start = try totals()
        let serverBefore = server.sample()
        let began = Date()
        try loop.submitAndWait {
            if let fixedRate {
                try generator.value.pace(senders.map(\.value), perSecond: fixedRate)
            } else {
                generator.value.saturate(senders.map(\.value), window: window)
            }
        }
        Thread.sleep(forTimeInterval: configuration.windowSeconds)
        let end = try totals()
        let elapsed = Date().timeIntervalSince(began)
        let server = server.sample().costs(since: serverBefore, seconds: elapsed, deliveries: end.deliveries - start.deliveries)
        let percentiles = try loop.submitAndWait { generator.value.latency.percentilesMilliseconds }
        try loop.submitAndWait { generator.value.stop() }
        Thread.sleep(forTimeInterval: 1)
        var result: [String: Any] = [
            "seconds": (elapsed * 100).rounded() / 100,
            "messages_per_s": Double(end.acks - start.acks) / elapsed,
            "commits_per_s": Double(end.acks - start.acks) / elapsed,
            "deliveries_per_s": Double(end.deliveries - start.deliveries) / elapsed,
            "latency_ms": percentiles,
            "server": server,
        ]
        if let fixedRate { result["offered_messages_per_s"] = fixedRate }
        return result
    }

    func wait<Value: Sendable>(_ body: @escaping @Sendable (Generator, @escaping @Sendable (Value) -> Void) -> Void) throws -> Value {
        let done = DispatchSemaphore(value: 0)
        let result = Locked<Value?>(nil)
        let generator = generator
        loop.execute {
            body(generator.value) { value in
                result.withLock { $0 = value }
                done.signal()
            }
        }
        guard done.wait(timeout: .now() + 300) == .success, let value = result.withLock({ $0 }) else {
            throw BenchError("a setup step did not finish in 5 minutes")
        }
        return value
    }

    func wait(_ body: @escaping @Sendable (Generator, @escaping @Sendable () -> Void) -> Void) throws {
        let _: Bool = try wait { generator, done in body(generator) { done(true) } }
    }

    /// One JSON object on one line, keys sorted.
    static func json(_ object: [String: Any]) -> String {
        let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data()
        return String(decoding: data, as: UTF8.self)
    }
}
