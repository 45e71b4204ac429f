import Foundation
import HavenProtocol
public import Redis
import Sodium

/// Where several nodes find each other: the Redis server they share.
public struct ClusterSettings: Sendable, Equatable {
    /// The Redis server the nodes publish to and subscribe at.
    public var redis: RedisAddress

    /// Settings for the nodes sharing `redis`.
    public init(redis: RedisAddress) {
        self.redis = redis
    }
}

/// This node's line to the others: it publishes what it commits, and hears, for the streams it
/// has members on, what the others commit. Messages it hears, and the news that it connected to
/// Redis again (so it may have missed some), reach the core's loop through `deliver`.
final class NodeBus: Sendable {
    /// This process's node id, random at each start.
    let node: [UInt8]
    private let publisher: RedisPublisher
    private let subscriber: RedisSubscriber
    private let deliver: @Sendable (Event) -> Void
    private let address: RedisAddress

    /// What the bus hands to the core.
    enum Event: Sendable {
        case message(NodeMessage)
        /// Connected to Redis (`again`: after having been connected before, so anything
        /// published meanwhile was missed).
        case connected(again: Bool)
        /// Redis confirmed this node follows a stream: anything published on it before was missed.
        case following(NodeMessage.Stream)
        /// Redis cannot be reached (told once until it can again): this node runs alone meanwhile.
        case lost(reason: String)
        /// How many nodes a publication reached (nil: none, Redis could not be reached).
        case reached(Int?, then: @Sendable (HavenServer, Int?) -> Void)
    }

    init(_ settings: ClusterSettings, deliver: @escaping @Sendable (Event) -> Void) {
        let node = RandomBytes.bytes(count: 16)
        self.node = node
        self.deliver = deliver
        address = settings.redis
        publisher = RedisPublisher(settings.redis)
        subscriber = RedisSubscriber(
            settings.redis,
            onMessage: { channel, payload in
                // A message counts only on the channel its kind belongs on.
                guard let message = try? NodeMessage(decoding: payload), message.node != node, message.stream.channel == channel else { return }
                deliver(.message(message))
            },
            onConnected: { again in deliver(.connected(again: again)) },
            onSubscribed: { channel in
                guard let stream = NodeMessage.Stream(channel: channel) else { return }
                deliver(.following(stream))
            },
            onLost: { reason in deliver(.lost(reason: reason)) })
    }

    /// Hears what the others publish on `stream` from now on.
    func follow(_ stream: NodeMessage.Stream) {
        subscriber.subscribe(stream.channel)
    }

    /// No longer hears that stream.
    func unfollow(_ stream: NodeMessage.Stream) {
        subscriber.unsubscribe(stream.channel)
    }

    /// Tells the other nodes what this node committed or knows; with `reached`, the core is told
    /// afterwards how many nodes heard it (nil: Redis could not be reached).
    func publish(
        _ kind: NodeMessage.Kind, key: [UInt8], cursor: Int64 = 0, previous: Int64 = 0, frame: [UInt8] = [],
        reached: (@Sendable (HavenServer, Int?) -> Void)? = nil
    ) {
        let message = NodeMessage(kind: kind, node: node, cursor: cursor, previous: previous, key: key, frame: frame)
        var heard: (@Sendable (Int?) -> Void)?
        if let reached {
            let deliver = deliver
            heard = { count in deliver(.reached(count, then: reached)) }
        }
        publisher.publish(message.stream.channel, message.encoded(), heard: heard)
    }

    /// Published, and dropped because Redis could not be reached.
    var counts: (published: Int, dropped: Int) { publisher.counts }

    /// Stops both threads.
    func close() {
        subscriber.close()
        publisher.close()
    }
}

/// Why nodes cannot share their work as configured.
public enum ClusterError: Error, Equatable, CustomStringConvertible {
    /// Redis was given but the store is a SQLite file of this node's own.
    case needsSharedDatabase

    public var description: String {
        switch self {
        case .needsSharedDatabase:
            "nodes that share a Redis server must share a PostgreSQL database too: set [store] backend = \"postgres\" (or --store postgres://…)"
        }
    }
}
