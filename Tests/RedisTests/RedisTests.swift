import Foundation
import HavenTestSupport
import Redis
import Testing

/// The hiredis wrapper against a real redis-server: commands, pub/sub, and what happens when
/// Redis dies and comes back.
@Suite struct RedisTests {
    /// What a subscriber received, in order, and how often it connected.
    final class Received: @unchecked Sendable {
        // @unchecked Sendable: guarded by `lock`.
        private let lock = NSLock()
        private var messages: [(channel: String, payload: [UInt8])] = []
        private var connections: [Bool] = []

        func add(_ channel: [UInt8], _ payload: [UInt8]) { lock.withLock { messages.append((String(decoding: channel, as: UTF8.self), payload)) } }
        func connected(_ again: Bool) { lock.withLock { connections.append(again) } }
        var payloads: [[UInt8]] { lock.withLock { messages.map(\.payload) } }
        var channels: [String] { lock.withLock { messages.map(\.channel) } }
        var reconnections: Int { lock.withLock { connections.filter { $0 }.count } }
        var everConnected: Bool { lock.withLock { !connections.isEmpty } }
    }

    func subscriber(_ redis: TestRedis, into received: Received) -> RedisSubscriber {
        RedisSubscriber(redis.address, onMessage: { received.add($0, $1) }, onConnected: { received.connected($0) })
    }

    /// Publishes on `channel` until a subscriber has it: a subscription is confirmed
    /// asynchronously, so the first messages may go before it is in place. The polling runs on a
    /// thread of its own, so tests holding the shared threads cannot make it miss its deadline.
    func publishUntilHeard(_ connection: RedisConnection, channel: String, _ received: Received) async throws {
        // The connection is used on that thread alone until it returns.
        nonisolated(unsafe) let connection = connection
        let heard = await onOwnThread { () -> Result<Bool, any Error> in
            let deadline = Date().addingTimeInterval(30)
            while Date() < deadline {
                do {
                    try connection.command(["PUBLISH", channel, "probe"].map { Array($0.utf8) })
                } catch {
                    return .failure(error)
                }
                if received.payloads.contains(Array("probe".utf8)) { return .success(true) }
                Thread.sleep(forTimeInterval: 0.05)
            }
            return .success(false)
        }
        guard try heard.get() else { throw TimedOut(what: "the subscription to take") }
    }

    @Test func commandsAndBinaryValuesRoundTrip() throws {
        let redis = try TestRedis()
        let connection = try RedisConnection(redis.address)
        let value: [UInt8] = [0, 13, 10, 255, 36]
        #expect(try connection.command([Array("SET".utf8), Array("k".utf8), value]) == .status("OK"))
        #expect(try connection.command([Array("GET".utf8), Array("k".utf8)]) == .string(value))
        #expect(try connection.command("GET", "missing") == .null)
        #expect(try connection.command("INCRBY", "n", "5") == .integer(5))
        guard case .error(let message) = try connection.command("INCR", "k") else {
            Issue.record("incrementing a non-number is an error reply")
            return
        }
        #expect(message.contains("not an integer"))
        #expect(try connection.command("PING") == .status("PONG"), "an error reply leaves the connection usable")
    }

    @Test func aSubscriberGetsWhatIsPublishedOnItsChannelsOnlyInOrder() async throws {
        let redis = try TestRedis()
        let received = Received()
        let subscriber = subscriber(redis, into: received)
        defer { subscriber.close() }
        subscriber.subscribe(Array("room:lobby".utf8))
        let publisher = try RedisConnection(redis.address)
        try await publishUntilHeard(publisher, channel: "room:lobby", received)
        for index in 0..<100 { try publisher.command([Array("PUBLISH".utf8), Array("room:lobby".utf8), [UInt8(index)]]) }
        try publisher.command("PUBLISH", "room:elsewhere", "not for this subscriber")
        subscriber.unsubscribe(Array("room:lobby".utf8))
        try await waitFor("the unsubscription to take") {
            try publisher.command("PUBLISH", "room:lobby", "after") == .integer(0) ? true : nil
        }
        // The probes, and an "after" heard before the unsubscription took, are not the point.
        let payloads = received.payloads.filter { $0 != Array("probe".utf8) && $0 != Array("after".utf8) }
        #expect(payloads == (0..<100).map { [UInt8($0)] }, "every message once, in order")
        #expect(!received.channels.contains("room:elsewhere"))
    }

    @Test func aPublisherSendsWhatItQueuesAndCountsWhatRedisNeverGot() async throws {
        let redis = try TestRedis()
        let received = Received()
        let subscriber = subscriber(redis, into: received)
        defer { subscriber.close() }
        subscriber.subscribe(Array("member:1".utf8))
        try await publishUntilHeard(try RedisConnection(redis.address), channel: "member:1", received)
        let publisher = RedisPublisher(redis.address)
        defer { publisher.close() }
        for index in 0..<1_000 { publisher.publish(Array("member:1".utf8), Array("\(index)".utf8)) }
        try await waitFor("a thousand messages") { received.payloads.filter { $0 != Array("probe".utf8) }.count >= 1_000 ? true : nil }
        let texts = received.payloads.map { String(decoding: $0, as: UTF8.self) }.filter { $0 != "probe" }
        #expect(texts == (0..<1_000).map(String.init), "every queued message once, in order")
        redis.stop()
        publisher.publish(Array("member:1".utf8), Array("lost".utf8))
        try await waitFor("the lost message to be counted") { publisher.counts.dropped >= 1 ? true : nil }
        #expect(publisher.counts.published == 1_000)
    }

    @Test func aSubscriberComesBackAfterRedisRestartsAndSaysItMayHaveMissedSome() async throws {
        let redis = try TestRedis()
        let received = Received()
        let subscriber = subscriber(redis, into: received)
        defer { subscriber.close() }
        subscriber.subscribe(Array("room:lobby".utf8))
        try await publishUntilHeard(try RedisConnection(redis.address), channel: "room:lobby", received)
        redis.stop()
        try redis.start()
        try await waitFor("the subscriber to connect again") { received.reconnections >= 1 ? true : nil }
        let publisher = try RedisConnection(redis.address)
        try await waitFor("the channel to be subscribed again") {
            try publisher.command("PUBLISH", "room:lobby", "after the restart") == .integer(1) ? true : nil
        }
        try await waitFor("the message after the restart") { received.payloads.contains(Array("after the restart".utf8)) ? true : nil }
    }

    @Test func aPasswordIsSentAndNeverShown() throws {
        let redis = try TestRedis(password: "a secret that logs must not show")
        #expect(try RedisConnection(redis.address).command("PING") == .status("PONG"))
        var wrong = redis.address
        wrong.password = "not it"
        #expect(throws: RedisError.connectionFailed(reason: "Redis refused the password")) { try RedisConnection(wrong) }
        wrong.password = nil
        #expect(try RedisConnection(wrong).command("PING") != .status("PONG"), "without the password Redis answers with an error")
        let parsed = try RedisAddress("redis://:a%20secret@cache.internal:6380")
        #expect(parsed.password == "a secret" && parsed.endpoint == .tcp(host: "cache.internal", port: 6380))
        #expect(!"\(parsed)".contains("secret"))
        #expect(throws: RedisError.invalidAddress("(an address with a password)")) { try RedisAddress("http://:a secret@cache.internal") }
    }

    @Test func aServerThatIsNotThereIsAClearError() {
        #expect(throws: RedisError.self) { try RedisConnection(.unix(path: "/nonexistent/redis.sock"), timeoutSeconds: 1) }
        #expect(throws: RedisError.invalidAddress("http://example.org")) { try RedisAddress("http://example.org") }
        #expect((try? RedisAddress("redis://cache.internal")) == .tcp(host: "cache.internal", port: 6379))
    }
}
