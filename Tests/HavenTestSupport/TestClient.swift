import Foundation
public import HavenClient
public import HavenNet
public import HavenProtocol
public import Sodium

/// A ``HavenClient`` with a log of everything it received, for assertions with a timeout.
public final class TestClient: Sendable {
    /// The client.
    public let client: HavenClient
    /// Every event so far.
    public let log = EventLog()

    /// A client with a fresh identity on `loop`, draining its events into ``log``; it verifies
    /// staff against `organisation`, as a provider's page pins it.
    public init(_ displayName: String, loop: EventLoop, identity: SigningKeyPair? = nil, organisation: SigningPublicKey? = nil) throws {
        client = HavenClient(
            identity: try identity ?? SigningKeyPair.generate(), displayName: displayName, loop: loop, organisation: organisation)
        let events = client.events
        let log = log
        Task.detached {
            for await event in events { log.append(event) }
        }
    }

    /// The member id.
    public var member: MemberID { client.member }

    /// Connects to `server`.
    public func connect(_ server: TestServer) async throws {
        try await client.connect(host: "127.0.0.1", port: server.port)
    }

    /// Connects to `server`, joins `room`, and waits for the room's key: a member ready to talk.
    @discardableResult
    public func enter(_ server: TestServer, room: RoomID, replayHistory: Bool = false) async throws -> Joined {
        try await connect(server)
        let joined = try await client.join(room, replayHistory: replayHistory)
        await client.waitForKey(room)
        return joined
    }

    /// Connects through `liar` (a lying server in front of the real one), joins `room`, and waits
    /// for the room's key.
    @discardableResult
    public func enter(through liar: LyingServer, room: RoomID) async throws -> Joined {
        try await client.connect(host: "127.0.0.1", port: liar.port)
        let joined = try await client.join(room)
        await client.waitForKey(room)
        return joined
    }

    /// The warnings shown in `room`, in order.
    public func warnings(in room: RoomID) -> [RoomWarning] {
        log.events.compactMap {
            if case .roomWarning(let warningRoom, let warning) = $0, warningRoom == room { return warning }
            return nil
        }
    }

    /// Texts of the room messages received in `room`, in order.
    public func texts(in room: RoomID) -> [String] {
        log.events.compactMap {
            if case .roomMessage(let messageRoom, let message, _) = $0, messageRoom == room { return message.body.text }
            return nil
        }
    }

    /// Texts of the direct messages received, in order.
    public func directTexts() -> [String] {
        log.events.compactMap {
            if case .directMessage(let message, _) = $0 { return message.body.text }
            return nil
        }
    }

    /// Waits until `count` room messages have arrived in `room` and returns their texts.
    public func waitForTexts(_ count: Int, in room: RoomID, timeout: Double = 30) async throws -> [String] {
        try await log.wait(timeout: timeout, "\(count) messages in \(room)") { _ in
            let texts = self.texts(in: room)
            return texts.count >= count ? texts : nil
        }
    }

    /// Waits until `count` direct messages have arrived and returns their texts.
    public func waitForDirectTexts(_ count: Int, timeout: Double = 30) async throws -> [String] {
        try await log.wait(timeout: timeout, "\(count) direct messages") { _ in
            let texts = self.directTexts()
            return texts.count >= count ? texts : nil
        }
    }
}

/// A thread-safe, append-only list of client events.
public final class EventLog: @unchecked Sendable {
    // @unchecked Sendable: `stored` is guarded by `lock`.
    private let lock = NSLock()
    private var stored: [ClientEvent] = []

    /// Creates an empty log.
    public init() {}

    func append(_ event: ClientEvent) { lock.withLock { stored.append(event) } }

    /// A snapshot of the events so far.
    public var events: [ClientEvent] { lock.withLock { stored } }

    /// Polls until `match` returns a value, or throws ``TimedOut`` after `timeout` seconds.
    @discardableResult
    public func wait<Value>(timeout: Double = 30, _ what: String, _ match: ([ClientEvent]) -> Value?) async throws -> Value {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if let value = match(events) { return value }
            try await Task.sleep(for: .milliseconds(10))
        }
        if let value = match(events) { return value }
        throw TimedOut(what: what)
    }
}

/// A wait that did not see what it waited for.
public struct TimedOut: Error, CustomStringConvertible {
    /// What was awaited.
    public let what: String
    /// Creates the error.
    public init(what: String) { self.what = what }
    public var description: String { "timed out waiting for \(what)" }
}

/// Runs blocking work (a raw socket's reads) on a thread of its own, so it never holds one of the
/// few threads every test shares.
public func onOwnThread<Value: Sendable>(_ work: @escaping @Sendable () -> Value) async -> Value {
    await withCheckedContinuation { continuation in Thread { continuation.resume(returning: work()) }.start() }
}

/// Polls `body` every 50 ms until it returns a value, for up to `timeout` seconds.
@discardableResult
public func waitFor<Value>(_ what: String, timeout: Double = 30, _ body: () async throws -> Value?) async throws -> Value {
    let deadline = Date().addingTimeInterval(timeout)
    while Date() < deadline {
        if let value = try await body() { return value }
        try await Task.sleep(for: .milliseconds(50))
    }
    // A last look: a test thread kept busy past the deadline must not miss what came meanwhile.
    if let value = try await body() { return value }
    throw TimedOut(what: what)
}

/// One event loop for the clients of a test, shut down when released.
public final class ClientLoop: Sendable {
    /// The loop.
    public let loop: EventLoop

    /// Starts a loop.
    public init() throws {
        loop = try EventLoop()
        loop.start()
    }

    deinit { loop.shutdown() }
}
