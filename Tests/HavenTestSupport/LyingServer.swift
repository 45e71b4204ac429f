import Foundation
public import HavenNet
public import HavenProtocol

/// A server that lies: a WebSocket man-in-the-middle on loopback in front of a real Haven
/// server, relaying every frame and letting a test rewrite, drop, replay or invent frames in
/// either direction, per member. Clients connect to it as to the server; it cannot sign as
/// anyone but identities of its own, exactly like whoever runs a real server.
public final class LyingServer: WebSocketServerDelegate, @unchecked Sendable {
    // @unchecked Sendable: `links` and `server` are touched on `loop` only; the rules are guarded
    // by their lock.

    /// What the liar does with one frame on its way to (or from) a member: the frames to pass on
    /// instead (the frame itself to pass it unchanged, none to drop it).
    public typealias Rewrite = @Sendable (_ member: MemberID?, _ frame: Frame) -> [Frame]

    /// The port members connect to.
    public private(set) var port = 0
    private let loop: EventLoop
    private let upstreamPort: Int
    private var server: WebSocketServer?
    private var links: [Int: Link] = [:]
    private let rules = Locked<(toMembers: Rewrite, toServer: Rewrite)>(({ [$1] }, { [$1] }))

    private final class Link {
        var upstream: WebSocketClientConnection?
        var pending: [[UInt8]] = []
        var member: MemberID?
    }

    /// Starts relaying to the real server on `upstreamPort`.
    public init(upstreamPort: Int) throws {
        self.upstreamPort = upstreamPort
        loop = try EventLoop()
        loop.start()
        var configuration = WebSocketServerConfiguration()
        configuration.port = 0
        let captured = configuration
        port = try loop.submitAndWait { [self] in
            let server = try WebSocketServer(loop: loop, configuration: captured, delegate: self)
            self.server = server
            loop.onShutdown { server.shutdown() }
            return server.port
        }
    }

    deinit { loop.shutdown() }

    /// Sets how frames from the server to members are rewritten from now on.
    public func toMembers(_ rewrite: @escaping Rewrite) { rules.withLock { $0.toMembers = rewrite } }

    /// Sets how frames from members to the server are rewritten from now on.
    public func toServer(_ rewrite: @escaping Rewrite) { rules.withLock { $0.toServer = rewrite } }

    /// Sends a frame of the liar's own making to every connection of `member`.
    public func inject(_ frame: Frame, to member: MemberID) {
        loop.execute { [self] in
            guard let server else { return }
            for (id, link) in links where link.member == member {
                server.connections[id]?.send(frame: server.frames.textFrame(FrameCodec.encode(frame)))
            }
        }
    }

    public func respond(to request: HTTPMessage, from peer: [UInt8], reply: @escaping (HTTPResponse) -> Void) {
        reply(HTTPResponse(status: 404))
    }

    public func opened(_ connection: WebSocketConnection) {
        let link = Link()
        links[connection.id] = link
        WebSocketClientConnection.connect(loop: loop, host: "127.0.0.1", port: upstreamPort) { [self] result in
            guard case .success(let upstream) = result, links[connection.id] === link else {
                connection.close(.goingAway)
                return
            }
            link.upstream = upstream
            upstream.onText = { [weak self] text in self?.relay(Array(text), toMemberOf: connection, link: link) }
            upstream.onClose = { _ in connection.close(.goingAway) }
            for text in link.pending { upstream.send(text: text) }
            link.pending = []
        }
    }

    public func received(_ text: UnsafeRawBufferPointer, from connection: WebSocketConnection) {
        guard let link = links[connection.id] else { return }
        for outgoing in rewrite(Array(text), member: link.member, with: rules.withLock { $0.toServer }) {
            if case .auth(let response)? = try? FrameCodec.decode(outgoing) { link.member = response.member }
            if let upstream = link.upstream { upstream.send(text: outgoing) } else { link.pending.append(outgoing) }
        }
    }

    public func closed(_ connection: WebSocketConnection) {
        links.removeValue(forKey: connection.id)?.upstream?.close()
    }

    private func relay(_ text: [UInt8], toMemberOf connection: WebSocketConnection, link: Link) {
        guard let server else { return }
        for incoming in rewrite(text, member: link.member, with: rules.withLock { $0.toMembers }) {
            connection.send(frame: server.frames.textFrame(incoming))
        }
    }

    /// Frames pass through the rule decoded; text that is not a frame passes unchanged.
    private func rewrite(_ text: [UInt8], member: MemberID?, with rule: Rewrite) -> [[UInt8]] {
        guard let frame = try? FrameCodec.decode(text) else { return [text] }
        return rule(member, frame).map { $0 == frame ? text : FrameCodec.encode($0) }
    }
}
