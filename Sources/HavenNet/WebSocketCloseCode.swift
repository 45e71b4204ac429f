/// WebSocket close codes Haven sends (RFC 6455 §7.4 and Haven's own 4000-range codes).
public enum WebSocketCloseCode: UInt16, Sendable, CaseIterable {
    /// The session is over.
    case normal = 1000
    /// The server is shutting down or the client is leaving.
    case goingAway = 1001
    /// The peer broke the WebSocket protocol.
    case protocolError = 1002
    /// The peer sent a binary message; Haven speaks text only.
    case unsupportedData = 1003
    /// No close code was received (never sent, reported only).
    case noStatus = 1005
    /// The connection dropped without a close frame (never sent, reported only).
    case abnormal = 1006
    /// A text message was not valid UTF-8.
    case invalidPayload = 1007
    /// The peer broke Haven's rules (e.g. refused login, a banned identity).
    case policyViolation = 1008
    /// A message exceeded the maximum message size.
    case messageTooBig = 1009
    /// The server failed internally.
    case internalError = 1011
    /// The server is overloaded; try again later.
    case tryAgainLater = 1013
    /// The peer sent nothing, or did not finish logging in, in time.
    case timeout = 4000
    /// The peer did not read fast enough: its send queue reached its limit.
    case slowConsumer = 4001
    /// The peer exceeded its rate limit repeatedly.
    case rateLimited = 4002
    /// The peer sent a frame that is not valid Haven protocol before logging in.
    case authenticationFailed = 4003
}
