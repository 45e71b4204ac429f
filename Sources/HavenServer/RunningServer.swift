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
    /// The event loops: the first runs the core and connections, the others connections.
    private let loops: [EventLoop]
    private let store: HavenStore
    private let bus: NodeBus?
    private let server: LoopBound<HavenServer>
    private let connectionLoops: [LoopBound<ConnectionLoop>]
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
        let loops = try (0..<max(1, configuration.loops)).map { _ in try EventLoop() }
        // The core's loop is haven-loop, the others haven-loop-1, haven-loop-2...
        for (index, loop) in loops.enumerated() { loop.start(name: index == 0 ? "haven-loop" : "haven-loop-\(index)") }
        let core = loops[0]
        let store: HavenStore
        do {
            // Store completions run on the core's loop, so it must be running before the first one.
            store = try HavenStore(configuration.storeLocation, settings: configuration.store) { work in core.execute(work) }
        } catch {
            loops.forEach { $0.shutdown() }
            throw error
        }
        do {
            let rooms = try loadRooms(configuration, store: store)
            let now = configuration.now()
            let sanctions = try store.performAndWait { try $0.activeSanctions(now: now) }
            let roster = try store.performAndWait { try $0.staffRoster() }
            // Parts of uploads a stop cut off belong to no attachment: nothing is arriving yet.
            try store.performAndWait { try $0.discardOrphanBlobParts() }
            let server = try core.submitAndWait {
                let server = try HavenServer(loop: core, store: store, configuration: configuration, rooms: rooms, sanctions: sanctions)
                server.adoptStaffRoster(roster?.roster)
                return LoopBound(server, loop: core)
            }
            let bus = try configuration.cluster.map { settings in
                guard configuration.storeLocation.engine == .postgres else { throw ClusterError.needsSharedDatabase }
                let bus = NodeBus(settings) { event in core.execute { server.value.heard(event) } }
                bus.follow(.nodes)
                bus.follow(.node(bus.node))
                try core.submitAndWait {
                    server.value.bus = bus
                    server.value.identities.journal.isOn = true
                    server.value.addresses.journal.isOn = true
                }
                return bus
            }
            let connectionLoops = try startConnectionLoops(on: loops, core: server, configuration: configuration)
            let port = try core.submitAndWait { connectionLoops[0].value.network?.port ?? 0 }
            return RunningServer(
                port: port, configuration: configuration, loops: loops, store: store, bus: bus, server: server, connectionLoops: connectionLoops)
        } catch {
            store.close()
            loops.reversed().forEach { $0.shutdown() }
            throw error
        }
    }

    /// Makes a connection loop on each of `loops`, links them to the core, then has them listen:
    /// the first binds, the others join its address.
    private static func startConnectionLoops(
        on loops: [EventLoop], core: LoopBound<HavenServer>, configuration: ServerConfiguration
    ) throws -> [LoopBound<ConnectionLoop>] {
        let coreLoop = loops[0]
        let ahead = configuration.messagesAwaitingStorePerConnection
        let connectionLoops = try loops.enumerated().map { index, loop in
            try loop.submitAndWait {
                LoopBound(ConnectionLoop(loop: loop, index: index, core: core, coreLoop: coreLoop, messagesOnTheirWay: ahead), loop: loop)
            }
        }
        let figures = try loops.indices.map { index in try loops[index].submitAndWait { connectionLoops[index].value.figures } }
        try coreLoop.submitAndWait {
            core.value.connect(connectionLoops.indices.map { index in
                guard index > 0 else { return LoopLink(local: connectionLoops[0].value) }
                let target = connectionLoops[index]
                let outbox = LoopOutbox<ConnectionOrder>(from: coreLoop, to: loops[index]) { _, orders in target.value.apply(orders) }
                return LoopLink(index: index, figures: figures[index], outbox: outbox)
            })
        }
        let shared = {
            var shared = configuration.network
            shared.maxConnections = (shared.maxConnections + loops.count - 1) / loops.count
            return shared
        }()
        let perNetwork = ConnectionsPerNetwork()
        let first = try coreLoop.submitAndWait {
            let first = connectionLoops[0].value
            try first.listen(shared, placement: LoopPlacement(index: 0, count: loops.count, first: nil), perNetwork: perNetwork)
            return (descriptor: first.network?.listenerDescriptor ?? -1, port: first.network?.port ?? 0)
        }
        for index in loops.indices.dropFirst() {
            try loops[index].submitAndWait {
                try connectionLoops[index].value.listen(
                    shared, placement: LoopPlacement(index: index, count: loops.count, first: first), perNetwork: perNetwork)
            }
        }
        return connectionLoops
    }

    private init(
        port: Int, configuration: ServerConfiguration, loops: [EventLoop], store: HavenStore, bus: NodeBus?,
        server: LoopBound<HavenServer>, connectionLoops: [LoopBound<ConnectionLoop>]
    ) {
        self.port = port
        self.configuration = configuration
        self.loops = loops
        self.store = store
        self.bus = bus
        self.server = server
        self.connectionLoops = connectionLoops
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

    /// The Prometheus metrics text, read on the core's loop thread.
    public func metricsText() throws -> String {
        let server = server
        return try loops[0].submitAndWait { server.value.metricsText() }
    }

    /// Blocks until SIGINT or SIGTERM, then stops gracefully. `watching` runs once the signals are
    /// watched: only from then on does a supervisor's SIGTERM stop the server gracefully, so say
    /// the server is ready there.
    public func runUntilSignalled(watching: () -> Void = {}) throws {
        let signalled = DispatchSemaphore(value: 0)
        let core = loops[0]
        let watcher = try core.submitAndWait {
            LoopBound(try SignalWatcher(loop: core) { _ in signalled.signal() }, loop: core)
        }
        watching()
        signalled.wait()
        core.execute { watcher.value.close() }
        stop()
    }

    /// Stops gracefully; safe to call more than once. Every loop stops accepting and says "going
    /// away" to its connections, the store commits what it has queued, and the loops end, the
    /// core's last (another loop may be waiting on it for an upload's head).
    public func stop() {
        let alreadyStopped = stopped.withLock { value -> Bool in
            defer { value = true }
            return value
        }
        guard !alreadyStopped else { return }
        for (loop, connectionLoop) in zip(loops, connectionLoops) { loop.execute { connectionLoop.value.shutdown() } }
        let server = server
        loops[0].execute { server.value.shutdown() }
        bus?.close()
        store.close()
        loops.reversed().forEach { $0.shutdown() }
    }
}
