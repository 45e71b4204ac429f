import Synchronization

/// A ``WebSocketServer``'s counters, readable from any thread: the server of each loop writes its
/// own, and whoever serves `/metrics` adds them up.
public final class NetworkFigures: Sendable {
    let openWebSockets = Atomic<Int>(0)
    let liveFramingContexts = Atomic<Int>(0)
    let slowConsumersLetGo = Atomic<Int>(0)
    let refusedAtCapacity = Atomic<Int>(0)
    let silentLetGo = Atomic<Int>(0)
    let acceptedSockets = Atomic<Int>(0)

    /// All zero.
    public init() {}

    /// Connections in the WebSocket phase.
    public var webSocketConnections: Int { openWebSockets.load(ordering: .relaxed) }
    /// wslay framing contexts alive (made minus freed).
    public var framingContexts: Int { liveFramingContexts.load(ordering: .relaxed) }
    /// Peers disconnected because their send queue reached its limit.
    public var slowConsumersDisconnected: Int { slowConsumersLetGo.load(ordering: .relaxed) }
    /// Connections closed on arrival at the server's most, none of the others being silent.
    public var connectionsRefusedAtCapacity: Int { refusedAtCapacity.load(ordering: .relaxed) }
    /// Silent connections closed to make room for a new one.
    public var connectionsLetGo: Int { silentLetGo.load(ordering: .relaxed) }
    /// Connections accepted (plain HTTP and WebSocket alike, refused ones too).
    public var connectionsAccepted: Int { acceptedSockets.load(ordering: .relaxed) }

    /// Adds `change` to `counter`.
    static func add(_ change: Int, to counter: borrowing Atomic<Int>) {
        counter.wrappingAdd(change, ordering: .relaxed)
    }
}

/// Where one loop's ``WebSocketServer`` stands among the loops of a process that share its
/// address: its number, how many there are, and, past the first, how to join the first's listener.
public struct LoopPlacement: Sendable {
    /// This loop's number, from 0.
    public var index: Int
    /// The loops in all.
    public var count: Int
    /// The first loop's listening socket and port (nil on the first loop): a TCP port is bound
    /// again with `SO_REUSEPORT`, a Unix-domain socket is shared.
    public var first: (descriptor: Int32, port: Int)?

    /// One loop alone.
    public static let alone = LoopPlacement(index: 0, count: 1, first: nil)

    /// Creates a placement.
    public init(index: Int, count: Int, first: (descriptor: Int32, port: Int)?) {
        self.index = index
        self.count = count
        self.first = first
    }

    /// The `serial`th connection's id (from 0): unique across the loops.
    func connectionID(serial: Int) -> Int { serial * count + index + 1 }
}
