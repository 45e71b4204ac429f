public import Sodium

/// Client to server and server to client: one call signalling step, routed live (never stored).
///
/// The server sees the call id, the step and who is talking to whom (the caller from its
/// connection, never from the message, whose sender is sealed inside), which it needs to enforce
/// who may call whom; the content (session descriptions, ICE candidates with their addresses,
/// fingerprints, media) is the ``CallSignal`` sealed inside `message`. A receiving client checks
/// that the sealed signal's id and step match the outer ones.
public struct CallFrame: Codable, Sendable, Equatable {
    /// The 16-byte call id.
    public var call: WireBytes
    /// The step.
    public var signal: CallSignalKind
    /// The sealed, signed direct message whose body's `call` is the ``CallSignal``.
    public var message: DirectMessage

    /// Creates the frame.
    public init(call: WireBytes, signal: CallSignalKind, message: DirectMessage) {
        self.call = call
        self.signal = signal
        self.message = message
    }

    /// Seals `signal` from `sender` to `recipient`.
    public static func seal(_ signal: CallSignal, from sender: SigningKeyPair, to recipient: MemberID) throws -> CallFrame {
        CallFrame(call: signal.call, signal: signal.kind,
                  message: try DirectMessage.seal(MessageBody(call: signal), from: sender, to: recipient, purpose: .callSignal))
    }

    /// Opens the sealed signal as its recipient, checks it is the step the frame says, and
    /// returns it with the sender found inside the seal.
    ///
    /// - Throws: the ``DirectMessage/open(with:)`` errors, or ``ProtocolError/invalidField(_:reason:)``
    ///   when the body is not a call signal or does not match the frame.
    public func open(with identity: SigningKeyPair) throws -> (signal: CallSignal, sender: MemberID) {
        let opened = try message.open(with: identity, purpose: .callSignal)
        let body = opened.body
        guard let signal = body.call else { throw ProtocolError.invalidField("message", reason: "carries no call signal") }
        guard signal.call == call, signal.kind == self.signal else {
            throw ProtocolError.invalidField("call", reason: "the sealed signal does not match the frame")
        }
        return (signal, opened.sender)
    }

    /// Checks the id's length and the sealed message's limits. - Throws: ``ProtocolError``.
    public func validate() throws(ProtocolError) {
        try call.require(length: CallSignal.callIDLength, field: "call")
        try message.validate()
    }
}

/// Client to server: TURN relay credentials for one call this connection is a party to, ringing
/// or live (the relay is not a free service for anyone logged in).
public struct TurnRequest: Codable, Sendable, Equatable {
    /// The 16-byte call id.
    public var call: WireBytes

    /// Creates the request.
    public init(call: WireBytes) {
        self.call = call
    }
}

/// Client to server: this member's standing call settings for this connection.
public struct CallPreferences: Codable, Sendable, Equatable {
    /// false blocks every incoming call: the server refuses rings with `calls_blocked`.
    public var acceptCalls: Bool
    /// Staff only: whether members may call this counsellor.
    public var offerCalls: Bool

    /// Creates the frame.
    public init(acceptCalls: Bool, offerCalls: Bool) {
        self.acceptCalls = acceptCalls
        self.offerCalls = offerCalls
    }
}

/// Server to client: a counsellor in one of the client's rooms started or stopped offering calls.
public struct CallAvailability: Codable, Sendable, Equatable {
    /// The counsellor.
    public var member: MemberID
    /// Whether members may call them now.
    public var offersCalls: Bool

    /// Creates the frame.
    public init(member: MemberID, offersCalls: Bool) {
        self.member = member
        self.offersCalls = offersCalls
    }
}

/// Server to client: a call ended without a signal from the other party (no answer, the other
/// party disconnected, was suspended or banned, or answered on another device).
public struct CallEnded: Codable, Sendable, Equatable {
    /// The 16-byte call id.
    public var call: WireBytes
    /// A stable reason: `no_answer`, `disconnected`, `sanctioned`, `answered_elsewhere`.
    public var reason: String

    /// Creates the frame.
    public init(call: WireBytes, reason: String) {
        self.call = call
        self.reason = reason
    }
}
