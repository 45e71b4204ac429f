import CHiredis
import Glibc

/// One connection to Redis over hiredis: the only place in Haven that calls hiredis.
///
/// Used by one thread at a time. Arguments and replies are byte strings (binary-safe).
/// Commands may be queued with ``append(_:)`` and sent together with ``flush()`` (pipelining);
/// after a failure the connection is done with: make a new one.
public final class RedisConnection {
    private let context: UnsafeMutablePointer<redisContext>

    /// Connects to `address`; connecting, and every read and write after, waits at most
    /// `timeoutSeconds`.
    ///
    /// - Throws: ``RedisError/connectionFailed(reason:)``.
    public init(_ address: RedisAddress, timeoutSeconds: Int = 5) throws(RedisError) {
        // A write to a server that went away would otherwise end the whole process with
        // SIGPIPE (hiredis writes with plain write()): the write fails with EPIPE instead.
        signal(SIGPIPE, SIG_IGN)
        let timeout = timeval(tv_sec: timeoutSeconds, tv_usec: 0)
        let opened: UnsafeMutablePointer<redisContext>? = switch address.endpoint {
        case .tcp(let host, let port): redisConnectWithTimeout(host, Int32(port), timeout)
        case .unix(let path): redisConnectUnixWithTimeout(path, timeout)
        }
        guard let opened else { throw RedisError.connectionFailed(reason: "out of memory") }
        guard opened.pointee.err == 0 else {
            let reason = String(cString: haven_redis_error(opened))
            redisFree(opened)
            throw RedisError.connectionFailed(reason: reason)
        }
        redisSetTimeout(opened, timeout)
        // TCP keepalive finds a peer gone without a word (a Unix socket has no such thing).
        if case .tcp = address.endpoint { redisEnableKeepAlive(opened) }
        context = opened
        if let password = address.password {
            let reply = try command((["AUTH"] + (address.user.map { [$0] } ?? []) + [password]).map { Array($0.utf8) })
            guard reply == .status("OK") else { throw RedisError.connectionFailed(reason: "Redis refused the password") }
        }
    }

    deinit {
        redisFree(context)
    }

    /// The socket's descriptor, to wait on with `poll` before ``readAvailable()``.
    public var descriptor: Int32 { context.pointee.fd }

    /// Sends `arguments` as one command and waits for its reply.
    ///
    /// - Throws: ``RedisError/connectionFailed(reason:)``.
    @discardableResult
    public func command(_ arguments: [[UInt8]]) throws(RedisError) -> RedisReply {
        try append(arguments)
        return try nextReply()
    }

    /// ``command(_:)`` with text arguments.
    @discardableResult
    public func command(_ arguments: String...) throws(RedisError) -> RedisReply {
        try command(arguments.map { Array($0.utf8) })
    }

    /// Queues a command to be sent by the next ``flush()`` or ``nextReply()``.
    ///
    /// - Throws: ``RedisError/connectionFailed(reason:)``.
    public func append(_ arguments: [[UInt8]]) throws(RedisError) {
        let buffer = arguments.flatMap { $0 }
        let lengths = arguments.map(\.count)
        let status = buffer.withUnsafeBufferPointer { bytes in
            var offset = 0
            let base = UnsafeRawPointer(bytes.baseAddress ?? UnsafePointer(bitPattern: 1)!)
            var pointers: [UnsafePointer<CChar>?] = arguments.map { argument in
                defer { offset += argument.count }
                return (base + offset).assumingMemoryBound(to: CChar.self)
            }
            return redisAppendCommandArgv(context, Int32(arguments.count), &pointers, lengths)
        }
        guard status == REDIS_OK else { throw failure() }
    }

    /// Writes every queued command.
    ///
    /// - Throws: ``RedisError/connectionFailed(reason:)``.
    public func flush() throws(RedisError) {
        var done: Int32 = 0
        while done == 0 {
            guard redisBufferWrite(context, &done) == REDIS_OK else { throw failure() }
        }
    }

    /// Sends what is queued, then waits for the next reply.
    ///
    /// - Throws: ``RedisError/connectionFailed(reason:)``.
    public func nextReply() throws(RedisError) -> RedisReply {
        var reply: UnsafeMutableRawPointer?
        guard redisGetReply(context, &reply) == REDIS_OK, let reply else { throw failure() }
        defer { freeReplyObject(reply) }
        return Self.read(reply.assumingMemoryBound(to: redisReply.self))
    }

    /// Reads what has arrived (call it when the descriptor is readable: it reads once) and
    /// returns the replies complete so far.
    ///
    /// - Throws: ``RedisError/connectionFailed(reason:)`` when the server closed the connection.
    public func readAvailable() throws(RedisError) -> [RedisReply] {
        guard redisBufferRead(context) == REDIS_OK else { throw failure() }
        var replies: [RedisReply] = []
        while true {
            var reply: UnsafeMutableRawPointer?
            guard redisGetReplyFromReader(context, &reply) == REDIS_OK else { throw failure() }
            guard let reply else { return replies }
            replies.append(Self.read(reply.assumingMemoryBound(to: redisReply.self)))
            freeReplyObject(reply)
        }
    }

    private func failure() -> RedisError {
        let reason = String(cString: haven_redis_error(context))
        return .connectionFailed(reason: reason.isEmpty ? "connection lost" : reason)
    }

    private static func read(_ reply: UnsafeMutablePointer<redisReply>) -> RedisReply {
        let value = reply.pointee
        let bytes = { value.str.map { Array(UnsafeRawBufferPointer(start: $0, count: Int(value.len))) } ?? [] }
        switch value.type {
        case REDIS_REPLY_STRING: return .string(bytes())
        case REDIS_REPLY_STATUS: return .status(String(decoding: bytes(), as: UTF8.self))
        case REDIS_REPLY_ERROR: return .error(String(decoding: bytes(), as: UTF8.self))
        case REDIS_REPLY_INTEGER: return .integer(Int64(value.integer))
        case REDIS_REPLY_ARRAY:
            return .array((0..<Int(value.elements)).compactMap { value.element[$0].map(read) })
        default: return .null
        }
    }
}
