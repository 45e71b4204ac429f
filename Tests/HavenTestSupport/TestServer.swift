import Foundation
import HavenNet
import HavenStore
public import Sodium
public import HavenServer

/// A Haven server on a free loopback port with its database in a fresh temporary folder,
/// removed when the server is released.
public final class TestServer: Sendable {
    /// The running server.
    public let server: RunningServer
    /// The temporary data folder.
    public let directory: String

    /// Starts a server; `configure` may adjust the configuration (rate limits, timeouts...).
    public init(directory: String? = nil, configure: (inout ServerConfiguration) -> Void = { _ in }) throws {
        let folder = directory ?? FileManager.default.temporaryDirectory.appendingPathComponent("haven-test-\(UUID().uuidString)").path
        var configuration = ServerConfiguration()
        configuration.network.port = 0
        configuration.dataDirectory = folder
        configuration.serverName = "haven.test"
        configuration.rooms = [RoomSeed(id: "lobby", name: "Lobby"), RoomSeed(id: "night-owls", name: "Night owls")]
        // Every login shows a little work, so the path is always exercised (8 bits: 256 hashes).
        configuration.proofOfWork.baseBits = 8
        // A raw test client answers the login challenge from its test task, which may wait well
        // past the 10 s default while the suite's other tests hold the shared threads (running
        // `haven` processes, hashing passphrases): a test of the login timeout sets its own.
        configuration.loginTimeoutMilliseconds = 120_000
        // Two loops, so every end-to-end test also crosses from one loop to the other (the
        // kernel places each connection): a test of one loop's own behaviour sets 1.
        configuration.loops = 2
        configure(&configuration)
        self.directory = folder
        server = try RunningServer.start(configuration)
    }

    /// The port it listens on.
    public var port: Int { server.port }

    /// The organisation key the server trusts (clients pin the same one).
    public var organisationKey: SigningPublicKey? { server.configuration.organisationPublicKey }

    /// The database file.
    public var databasePath: String { server.configuration.databasePath }

    /// The single number a query over the database answers (`SELECT COUNT(*) FROM …`), read
    /// through a connection of its own, as a flood test counts what landed.
    public func count(_ query: String) throws -> Int64 {
        guard case .integer(let value)? = try SQLiteConnection(path: databasePath).prepare(query).query().first?.first else { return -1 }
        return value
    }

    /// The value `/metrics` gives the unlabelled metric `name` now (0 when it is not listed).
    public func metric(_ name: String) throws -> Int {
        try server.metricsText().split(separator: "\n").first { $0.hasPrefix(name + " ") }
            .flatMap { Int($0.split(separator: " ")[1]) } ?? 0
    }

    /// Stops the server (keeping the folder).
    public func stop() { server.stop() }

    deinit {
        server.stop()
        try? FileManager.default.removeItem(atPath: directory)
    }
}
