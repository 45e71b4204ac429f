/// The steps of a 1:1 call's signalling (docs/protocol.md, "Calls").
public enum CallSignalKind: String, Codable, Sendable, CaseIterable {
    /// The caller asks the callee to take a call; carries the media asked for and the caller's
    /// DTLS certificate fingerprint.
    case ring
    /// The callee takes the call; carries the media agreed and the callee's fingerprint.
    case accept
    /// The callee does not take the call.
    case decline
    /// The callee is already in a call.
    case busy
    /// The caller's WebRTC session description.
    case offer
    /// The callee's WebRTC session description.
    case answer
    /// One ICE candidate.
    case ice
    /// Either side switched what it sends mid-call (to audio only).
    case media
    /// Either side ends the call.
    case hangup
}

/// What a call carries.
public enum CallMedia: String, Codable, Sendable {
    /// Voice only: no camera is opened on either side.
    case audio
    /// Voice and video.
    case video
}

/// One signalling step, end to end encrypted: the `call` field of a ``MessageBody`` inside a
/// ``DirectMessage`` sealed to the other party and signed by the sender.
///
/// The DTLS fingerprint that each side signs in its `ring` or `accept` is the one its peer
/// requires in every session description and of the certificate the media connection presents,
/// so the server (or anyone relaying signalling) cannot put itself in the middle of the media.
public struct CallSignal: Codable, Sendable, Equatable {
    /// The 16-byte call id the caller picked at random.
    public var call: WireBytes
    /// The step.
    public var kind: CallSignalKind
    /// For `ring` (asked for), `accept` (agreed) and `media` (switched to).
    public var media: CallMedia?
    /// For `ring` and `accept`: the sender's DTLS certificate fingerprint, e.g. `sha-256 AB:CD:…`.
    public var fingerprint: String?
    /// For `offer` and `answer`: the session description (SDP).
    public var sdp: String?
    /// For `ice`: the candidate as the browser's `RTCIceCandidateInit` JSON.
    public var candidate: String?
    /// For `decline`, `busy` and `hangup`: why, for people (e.g. "declined", "fingerprint mismatch").
    public var reason: String?

    /// Longest session description, in UTF-8 bytes.
    public static let maxSDPBytes = 16 * 1024
    /// Longest candidate, in UTF-8 bytes.
    public static let maxCandidateBytes = 1024
    /// Longest reason, in UTF-8 bytes.
    public static let maxReasonBytes = 200
    /// Length of a call id.
    public static let callIDLength = 16

    /// Creates a signal; ``validate()`` says whether the fields fit the kind.
    public init(call: WireBytes, kind: CallSignalKind, media: CallMedia? = nil, fingerprint: String? = nil,
                sdp: String? = nil, candidate: String? = nil, reason: String? = nil) {
        self.call = call
        self.kind = kind
        self.media = media
        self.fingerprint = fingerprint
        self.sdp = sdp
        self.candidate = candidate
        self.reason = reason
    }

    /// Checks that each kind carries the fields it needs, within limits. - Throws: ``ProtocolError``.
    public func validate() throws(ProtocolError) {
        try call.require(length: Self.callIDLength, field: "call.call")
        switch kind {
        case .ring, .accept:
            guard media != nil else { throw .missingField("call.media") }
            guard let fingerprint else { throw .missingField("call.fingerprint") }
            try Self.checkFingerprint(fingerprint)
        case .offer, .answer:
            guard let sdp else { throw .missingField("call.sdp") }
            try Self.check(sdp, limit: Self.maxSDPBytes, field: "call.sdp")
        case .ice:
            guard let candidate else { throw .missingField("call.candidate") }
            try Self.check(candidate, limit: Self.maxCandidateBytes, field: "call.candidate")
        case .media:
            guard media != nil else { throw .missingField("call.media") }
        case .decline, .busy, .hangup:
            break
        }
        if let reason { try Self.check(reason, limit: Self.maxReasonBytes, field: "call.reason") }
    }

    /// A fingerprint is `sha-256` and 32 upper-case hex bytes separated by colons.
    static func checkFingerprint(_ fingerprint: String) throws(ProtocolError) {
        let parts = fingerprint.split(separator: " ")
        let bytes = parts.count == 2 ? parts[1].split(separator: ":", omittingEmptySubsequences: false) : []
        guard parts.first == "sha-256", bytes.count == 32,
              bytes.allSatisfy({ $0.count == 2 && $0.allSatisfy { $0.isHexDigit && !$0.isLowercase } })
        else { throw .invalidField("call.fingerprint", reason: "must be \"sha-256\" and 32 colon-separated upper-case hex bytes") }
    }

    private static func check(_ text: String, limit: Int, field: String) throws(ProtocolError) {
        guard text.utf8.count <= limit else { throw .fieldTooLarge(field: field, size: text.utf8.count, limit: limit) }
    }
}
