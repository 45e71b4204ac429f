/// One audited call: who called whom, and when it was answered and ended. Nothing else about a
/// call is ever stored.
public struct CallRecord: Sendable, Equatable {
    /// Position in the log.
    public let sequence: Int64
    /// The caller's identity key.
    public let caller: [UInt8]
    /// The callee's identity key.
    public let callee: [UInt8]
    /// When the call was answered (unix seconds).
    public let startedAt: Int64
    /// When it ended (unix seconds).
    public let endedAt: Int64
}

extension StoreDatabase {
    /// Records that a call happened (call auditing on).
    public func appendCallRecord(caller: [UInt8], callee: [UInt8], startedAt: Int64, endedAt: Int64) throws {
        try run("INSERT INTO call_log (caller, callee, started_at, ended_at) VALUES (?, ?, ?, ?)",
                [.blob(caller), .blob(callee), .integer(startedAt), .integer(endedAt)])
    }

    /// Audited calls answered at or after `since`, oldest first.
    public func callLog(since: Int64 = 0) throws -> [CallRecord] {
        try run("SELECT seq, caller, callee, started_at, ended_at FROM call_log WHERE started_at >= ? ORDER BY seq", [.integer(since)])
            .map { CallRecord(sequence: $0[0].integer, caller: $0[1].blob, callee: $0[2].blob, startedAt: $0[3].integer, endedAt: $0[4].integer) }
    }
}
