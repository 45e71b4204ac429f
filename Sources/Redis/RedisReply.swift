/// One reply from Redis, as RESP2 types it.
public enum RedisReply: Equatable, Sendable {
    case string([UInt8])
    case status(String)
    case integer(Int64)
    case array([RedisReply])
    case null
    /// An error Redis answered with (a wrong command, a wrong type): the connection goes on.
    case error(String)
}
