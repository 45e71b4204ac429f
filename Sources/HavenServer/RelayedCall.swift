import HavenProtocol

/// A ring a node passes to the callee's node, with what only the caller's node knows of the
/// caller; the callee's node checks the rest and rings, or answers with a ``RelayedRefusal``.
struct RelayedRing: Codable, Sendable {
    let frame: CallFrame
    let caller: MemberID
    let callerIsCounsellor: Bool
    let callerSuspended: Bool
    /// The rooms the caller is in on their node (a counsellor may ring a member they share one with).
    let callerRooms: [RoomID]
}

/// A call step passed to the other party's node (the sender is known there only from this).
struct RelayedCallSignal: Codable, Sendable {
    let frame: CallFrame
    let from: MemberID
}

/// The callee's node would not ring: why, in the words the caller is told.
struct RelayedRefusal: Codable, Sendable {
    let call: WireBytes
    let code: String
    let message: String
}

/// A call ended on the other party's node.
struct RelayedCallEnd: Codable, Sendable {
    let call: WireBytes
    let reason: String
}
