/// How a ``WebSocketServer`` listens, what it accepts, and when it gives up on a peer.
public struct WebSocketServerConfiguration: Sendable, Equatable {
    /// Address to listen on (numeric IPv4 or IPv6).
    public var host = "127.0.0.1"
    /// Port to listen on; 0 picks a free one.
    public var port = 8080
    /// A Unix-domain socket to listen on instead of `host:port`, for a reverse proxy on the same
    /// machine: no other local user can take its place while the server restarts, as one could
    /// a loopback port. Made 0660, so only the service's user and group may connect; whoever
    /// connects is the proxy (as if listed in `trustedProxies`).
    public var unixSocketPath: String?
    /// The path that accepts WebSocket upgrades.
    public var webSocketPath = "/v1/ws"
    /// Origins allowed to open a WebSocket (`"*"` for any); requests without `Origin` are allowed.
    public var allowedOrigins: [String] = []
    /// Reverse proxies (their addresses' bytes) whose `X-Forwarded-For` names the client: behind
    /// nginx or Caddy, each visitor then has their own rate limits. A request from one that sends
    /// no such header has no known client address.
    public var trustedProxies: [[UInt8]] = []
    /// Connections one client network (an IPv4 address, an IPv6 /64) may hold open at once, counted
    /// from the first byte (plain HTTP included); behind a trusted proxy, from the request that
    /// names the client.
    public var maxConnectionsPerNetwork = 64
    /// Connections open at once from everyone together: past it the connection that has waited
    /// longest without sending a byte of a request is let go for the new one, or, when there is
    /// none, the new one is closed at once, so the server never runs out of file descriptors
    /// (`haven serve` sets it below its open-files limit).
    public var maxConnections = 16_000
    /// Limits on HTTP requests.
    public var httpLimits = HTTPLimits()
    /// Largest WebSocket message accepted; wslay closes with 1009 beyond it (its own default is ~2 GiB).
    public var maxMessageBytes = 160 * 1024
    /// Most bytes queued for one peer before it is disconnected as a slow consumer.
    public var maxQueuedBytes = 1024 * 1024
    /// Time allowed from accept to a complete HTTP request or upgrade.
    public var handshakeTimeoutMilliseconds: UInt64 = 10_000
    /// Time a client has to take each 64 KiB of an answer, and, once the answer is written out,
    /// to finish taking it and send its next request (a phone at 30 KB/s behind the kernel's
    /// buffers and a proxy's).
    public var answerTimeoutMilliseconds: UInt64 = 30_000
    /// The slowest an authorized upload may arrive: each ``handshakeTimeoutMilliseconds`` must
    /// bring at least this rate's worth of its body (80 KiB in 10 s by default: a phone on a
    /// poor connection uploads a photo in a minute or more, and a body that stops coming is
    /// dropped within one window).
    public var minUploadBytesPerSecond = 8 * 1024
    /// The kernel send buffer of each connection (0: the kernel's own, which grows to megabytes
    /// and tells the server only of megabyte-sized progress by a slow reader). 128 KiB (256 KiB
    /// once Linux doubles it) still moves megabytes a second to a phone 100 ms away.
    public var socketSendBufferBytes = 128 * 1024
    /// Quiet time after which the server pings a WebSocket peer.
    public var pingAfterMilliseconds: UInt64 = 30_000
    /// Quiet time after which a WebSocket peer is disconnected (it ignored the ping).
    public var idleTimeoutMilliseconds: UInt64 = 75_000
    /// Time a message may take to arrive whole once its first bytes have (a part-read message
    /// holds up to ``maxMessageBytes`` of the server's memory); past it, one that has come slower
    /// than ``minMessageBytesPerSecond`` on average is closed with 1008.
    public var messageTimeoutMilliseconds: UInt64 = 60_000
    /// The slowest a message taking longer than ``messageTimeoutMilliseconds`` may arrive:
    /// 128 bytes a second (1 kbit/s), below the poorest mobile link a long message must cross.
    public var minMessageBytesPerSecond = 128
    /// Time a peer has to answer a close frame before the socket is closed anyway.
    public var closeTimeoutMilliseconds: UInt64 = 3_000

    /// The defaults above.
    public init() {}
}
