import Sodium

/// Why a member reports a message.
public enum ReportCategory: String, Codable, Sendable, CaseIterable {
    /// Harassment or abuse.
    case harassment
    /// Someone may be at risk of harming themselves.
    case selfHarmRisk = "self_harm_risk"
    /// Spam or advertising.
    case spam
    /// Anything else.
    case other
}

/// What a reporter reveals about one direct message they received: its body, the franking key
/// and the sender's inner signature. Nothing else of the conversation is revealed.
public struct ReportEvidence: Codable, Sendable, Hashable {
    /// The exact body bytes the sender franked.
    public var body: WireBytes
    /// The franking key from inside the message.
    public var frankingKey: WireBytes
    /// The sender's signature from inside the seal.
    public var signature: WireBytes

    /// Creates evidence from an opened message.
    public init(_ opened: OpenedMessage) {
        body = WireBytes(opened.bodyBytes)
        frankingKey = WireBytes(opened.frankingKey)
        signature = WireBytes(opened.signature)
    }

    /// Checks that this evidence is exactly what `sender` sent to `recipient` as message `id`,
    /// given the franking `commitment` the server stored with it.
    ///
    /// - Throws: ``ProtocolError/frankingMismatch`` or ``ProtocolError/signatureInvalid(what:)``.
    public func verify(id: MessageID, sender: MemberID, recipient: MemberID, commitment: [UInt8]) throws(ProtocolError) {
        try Franking.verify(body: body.bytes, key: frankingKey.bytes, commitment: commitment)
        let signed = DirectMessage.signedBytes(id: id, sender: sender, recipient: recipient, commitment: commitment)
        try sender.publicKey.verify(signature.bytes, of: signed, what: "reported message")
    }
}

/// A member's report of a direct message they received (room messages are reported by id:
/// moderators in the room can read them).
public struct Report: Codable, Sendable, Hashable {
    /// 16 random bytes naming the report.
    public var id: MessageID
    /// The category chosen by the reporter.
    public var category: ReportCategory
    /// For a room message: its room.
    public var room: RoomID?
    /// The reported message's id.
    public var message: MessageID
    /// Its sender.
    public var sender: MemberID
    /// For a direct message: what the reporter reveals.
    public var evidence: ReportEvidence?

    /// Creates a report.
    public init(category: ReportCategory, room: RoomID? = nil, message: MessageID, sender: MemberID, evidence: ReportEvidence? = nil) {
        id = .random()
        self.category = category
        self.room = room
        self.message = message
        self.sender = sender
        self.evidence = evidence
    }
}

/// A report as moderators receive it: the report, who made it, and the direct message as the
/// server stored it (whose franking commitment the evidence must match).
public struct ReportEntry: Codable, Sendable, Hashable {
    /// The report.
    public var report: Report
    /// Who reported.
    public var reporter: MemberID
    /// For a direct message: the stored message, as sent by its sender.
    public var stored: DirectMessage?

    /// Creates an entry.
    public init(report: Report, reporter: MemberID, stored: DirectMessage?) {
        self.report = report
        self.reporter = reporter
        self.stored = stored
    }

    /// For a direct-message report: checks the evidence against the stored message.
    public func verify() throws(ProtocolError) {
        guard let evidence = report.evidence, let stored else { throw .missingField("evidence") }
        guard stored.sender ?? report.sender == report.sender else { throw .signatureInvalid(what: "reported message") }
        try evidence.verify(id: stored.id, sender: report.sender, recipient: reporter, commitment: stored.franking.bytes)
    }
}

/// `report` (client → server) carries one report; `reports` (server → client) lists them for staff.
public struct ReportFrame: Codable, Sendable, Equatable {
    /// The report.
    public var report: Report
    /// Creates the frame.
    public init(report: Report) { self.report = report }
}

/// Staff ask for a page of reports (`listReports`): the newest, or those older than `before`.
public struct ReportPageRequest: Codable, Sendable, Equatable {
    /// The oldest report of the page staff hold (a page's `next`).
    public var before: MessageID?
    /// Creates the frame.
    public init(before: MessageID? = nil) { self.before = before }
}

/// The open reports, for staff: a page when asked (`listReports`), or, marked `live`, one report
/// just filed (to add to the inbox).
public struct ReportList: Codable, Sendable, Equatable {
    /// Newest first.
    public var reports: [ReportEntry]
    /// true: these reports were just filed and add to the list staff hold.
    public var live: Bool?
    /// When older reports remain: ask for them with `before` set to this.
    public var next: MessageID?
    /// Creates the frame.
    public init(reports: [ReportEntry], live: Bool? = nil, next: MessageID? = nil) {
        self.reports = reports
        self.live = live
        self.next = next
    }
}
