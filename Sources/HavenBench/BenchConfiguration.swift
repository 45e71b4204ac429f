/// What `haven bench` measures and how hard it pushes.
public struct BenchConfiguration: Sendable {
    /// Idle authenticated connections held for the memory figure (19,000 fits under an
    /// open-files limit of 20,000 on both ends).
    public var idleConnections = 19_000
    /// Members of the fan-out room.
    public var roomMembers = 100
    /// Members of the room that send (all receive).
    public var roomSenders = 20
    /// One-to-one pairs for the direct-message phase.
    public var directPairs = 1_000
    /// Seconds each measured window lasts.
    public var windowSeconds = 5.0
    /// Messages each sender may have unacknowledged at saturation.
    public var window = 8
    /// Receivers whose deliveries are decoded for latency (the rest only count).
    public var latencyProbes = 4
    /// Offered message rates (a second, into the room) for the room-rate phase, one window each.
    public var roomRates: [Double] = [100, 200, 400, 800, 1_600, 3_200, 6_400, 12_800]
    /// Length of the message body in the room-rate phase (the comparison with XMPP servers uses 200).
    public var roomRateBodyBytes = 200
    /// Small rooms in the mix phase (sizes from ``MixPlan/roomSizes`` in turn).
    public var mixRooms = 40
    /// Operations a second offered in the mix phase (room and private messages, leaves and joins).
    public var mixOperationsPerSecond = 1_000.0
    /// Entries in the room logs a newcomer joins in the log-join phase.
    public var logEntries = 10_000
    /// The `haven` binary to start as the server.
    public var serverBinary: String
    /// Store durability for the server.
    public var synchronous = "full"
    /// A PostgreSQL database for the server's store (nil: SQLite in a fresh data folder). Each
    /// phase's server uses it as it finds it, so start from an empty database for comparable runs.
    public var serverStore: String?
    /// Nodes to run (several need ``serverStore`` and ``serverRedis``); clients are spread over
    /// them in turn, and the first node's memory and CPU are reported.
    public var nodes = 1
    /// The Redis server the nodes share (with several nodes).
    public var serverRedis: String?
    /// The server's event loops (nil: `haven serve`'s own choice, one per core).
    public var serverLoops: Int?
    /// CPUs the server runs on, as `taskset -c` takes them ("0", "0-1"; nil: wherever the
    /// kernel puts it), so that it and the load generator can be kept apart.
    public var serverCPUs: String?
    /// The phases to run, in their fixed order (all but `room_rate` by default, which
    /// Scripts/compare.sh asks for; fewer to profile one alone).
    public var phases = Set(BenchPhase.allCases).subtracting([.roomRate])

    /// The full run; ``quick(serverBinary:)`` is the same shape in under a minute.
    public init(serverBinary: String) {
        self.serverBinary = serverBinary
    }

    /// A run of the same shape that finishes in under a minute.
    public static func quick(serverBinary: String) -> BenchConfiguration {
        var configuration = BenchConfiguration(serverBinary: serverBinary)
        configuration.idleConnections = 2_000
        configuration.directPairs = 300
        configuration.windowSeconds = 2
        configuration.logEntries = 2_000
        return configuration
    }
}

/// One measured part of `haven bench`, named as in its JSON lines.
public enum BenchPhase: String, CaseIterable, Sendable {
    case idle
    case room
    case direct
    case logJoin = "log_join"
    case mix
    case roomRate = "room_rate"
    /// The store alone, in the bench's own process (``StorePhase``).
    case store
}
