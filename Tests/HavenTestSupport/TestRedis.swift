import Foundation
public import Redis

/// A Redis server of the tests' own, from Debian's `redis-server`: a Unix socket in a temporary
/// folder, nothing saved to disk, killed (as a crash would) by ``stop()`` or when released.
public final class TestRedis: @unchecked Sendable {
    // @unchecked Sendable: `pid` is guarded by `lock`.
    /// The folder holding the socket.
    public let folder: String
    private let lock = NSLock()
    private var pid: pid_t?
    /// The password it asks for (nil: none).
    public let password: String?

    /// Where it listens, with its password.
    public var address: RedisAddress { RedisAddress(endpoint: .unix(path: folder + "/redis.sock"), password: password) }

    /// Starts a new server, asking for `password` if one is given.
    ///
    /// - Throws: ``ChildProcess/Failed`` when redis-server is missing or does not answer.
    public init(password: String? = nil) throws {
        self.password = password
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("haven-redis-\(UUID().uuidString.prefix(8))").path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        try start()
    }

    deinit {
        stop()
        try? FileManager.default.removeItem(atPath: folder)
    }

    /// Starts the server (again, after ``stop()``) and waits until it answers PING.
    ///
    /// - Throws: ``ChildProcess/Failed``.
    public func start() throws {
        let started = try ChildProcess.start([
            "/usr/bin/redis-server", "--port", "0", "--unixsocket", folder + "/redis.sock", "--unixsocketperm", "700",
            "--save", "", "--appendonly", "no", "--dir", folder,
        ] + (password.map { ["--requirepass", $0] } ?? []), errorsPath: folder + "/server.err")
        lock.withLock { pid = started }
        let deadline = Date().addingTimeInterval(30)
        var answer = "nothing"
        while Date() < deadline {
            do {
                let reply = try RedisConnection(address, timeoutSeconds: 1).command("PING")
                if reply == .status("PONG") { return }
                answer = "\(reply)"
            } catch {
                answer = "\(error)"
            }
            Thread.sleep(forTimeInterval: 0.05)
        }
        throw ChildProcess.Failed(description: "redis-server did not answer PING within 30 s (its last answer: \(answer))")
    }

    /// Kills the server at once (SIGKILL: nothing is shut down cleanly).
    public func stop() {
        guard let running = lock.withLock({ pid.take() }) else { return }
        kill(running, SIGKILL)
        ChildProcess.wait(running)
    }
}
