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
