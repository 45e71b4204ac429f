import Foundation
import HavenNet
import HavenProtocol
import HavenStore

/// A started Haven server: its event loop, its store and the server on the loop.
///
/// `start` opens (or creates) the database, creates the configured rooms, binds the socket and
/// starts the loop thread. `stop` shuts down gracefully: stop accepting, close every WebSocket
/// with "going away", commit everything the store has queued, then end the loop.
public final class RunningServer: Sendable {
    /// The port the server listens on (useful after asking for port 0).
    public let port: Int
    /// The configuration it runs with.
    public let configuration: ServerConfiguration
    private let loop: EventLoop
    private let store: HavenStore
    private let server: LoopBound<HavenServer>
    private let stopped = Locked(false)

    /// Starts a server.
    ///
    /// - Throws: ``StoreError`` when the database cannot be opened, ``UVError`` when the address
    ///   cannot be bound.
    public static func start(_ configuration: ServerConfiguration) throws -> RunningServer {
        // The data folder is its owner's alone, from the first start on.
        try FileManager.default.createDirectory(atPath: configuration.dataDirectory, withIntermediateDirectories: true)
        do {
            try FileManager.default.setAttributes([.posixPermissions: 0o700], ofItemAtPath: configuration.dataDirectory)
        } catch {
            ServerLog.warning("the data folder could not be made private to its owner (chmod 700 it): \(error)")
        }
        let loop = try EventLoop()
        loop.start()
        let store: HavenStore
        do {
            // Store completions run on the loop, so the loop must be running before the first one.
            store = try HavenStore(path: configuration.databasePath, settings: configuration.store) { work in loop.execute(work) }
        } catch {
            loop.shutdown()
            throw error
        }
        do {
            let rooms = try loadRooms(configuration, store: store)
            let now = configuration.now()
            let sanctions = try store.performAndWait { try $0.activeSanctions(now: now) }
            let roster = try store.performAndWait { try $0.staffRoster() }
            // Parts of uploads a stop cut off belong to no attachment: nothing is arriving yet.
            try store.performAndWait { try $0.discardOrphanBlobParts() }
            let server = try loop.submitAndWait {
                let server = try HavenServer(loop: loop, store: store, configuration: configuration, rooms: rooms, sanctions: sanctions)
                server.adoptStaffRoster(roster?.roster)
                return LoopBound(server, loop: loop)
            }
            let port = try loop.submitAndWait { server.value.port }
            return RunningServer(port: port, configuration: configuration, loop: loop, store: store, server: server)
        } catch {
            store.close()
            loop.shutdown()
            throw error
        }
    }

    private init(port: Int, configuration: ServerConfiguration, loop: EventLoop, store: HavenStore, server: LoopBound<HavenServer>) {
        self.port = port
        self.configuration = configuration
        self.loop = loop
        self.store = store
        self.server = server
    }

    private static func loadRooms(_ configuration: ServerConfiguration, store: HavenStore) throws -> [LoadedRoom] {
        let seeds = try configuration.rooms.map { seed -> RoomSeed in
            _ = try RoomID(seed.id)
            return seed
        }
        let now = Int64(Date().timeIntervalSince1970)
        return try store.performAndWait { database in
            for seed in seeds { try database.createRoom(id: seed.id, name: seed.name, kind: "support", now: now) }
            return try LoadedRoom.loadAll(from: database)
        }
    }

    /// The Prometheus metrics text, read on the loop thread.
    public func metricsText() throws -> String {
        let server = server
        return try loop.submitAndWait { server.value.metricsText() }
    }

    /// Blocks until SIGINT or SIGTERM, then stops gracefully. `watching` runs once the signals are
    /// watched: only from then on does a supervisor's SIGTERM stop the server gracefully, so say
    /// the server is ready there.
    public func runUntilSignalled(watching: () -> Void = {}) throws {
        let signalled = DispatchSemaphore(value: 0)
        let watcher = try loop.submitAndWait { [loop] in
            LoopBound(try SignalWatcher(loop: loop) { _ in signalled.signal() }, loop: loop)
        }
        watching()
        signalled.wait()
        loop.execute { watcher.value.close() }
        stop()
    }

    /// Stops gracefully; safe to call more than once.
    public func stop() {
        let alreadyStopped = stopped.withLock { value -> Bool in
            defer { value = true }
            return value
        }
        guard !alreadyStopped else { return }
        let server = server
        loop.execute { server.value.shutdown() }
        store.close()
        loop.shutdown()
    }
}
