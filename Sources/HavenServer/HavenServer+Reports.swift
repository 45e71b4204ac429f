import HavenNet
import HavenProtocol
import HavenStore

extension HavenServer {
    /// Records a member's report. A direct message can be reported only by its recipient, and
    /// only while it is stored; its evidence must match what the sender signed (checked here and
    /// again by moderators). A room message is reported by id, only as the stored message it
    /// names (its sender included); staff in the room can read it. Reports are limited per
    /// address as well as per identity, so many fresh identities cannot bury real ones.
    func file(_ report: Report, session: Session, member: MemberInfo) {
        if let room = report.room, session.rooms[room] == nil {
            refuse(session, code: "not_a_member", message: "you can report messages of rooms you are in", id: report.id, room: room)
            return
        }
        if report.room == nil && report.evidence == nil {
            refuse(session, code: "missing_field", message: "a direct-message report carries its evidence", id: report.id)
            return
        }
        guard addresses.allowReport(session.addressKey, now: loop.nowMilliseconds) else {
            counters.rateLimited += 1
            refuse(session, code: "rate_limited", message: "too many reports from this network; please try again later", id: report.id)
            return
        }
        guard identities.allowReport(member.member, now: loop.nowMilliseconds) else {
            counters.rateLimited += 1
            refuse(session, code: "rate_limited", message: "you have sent many reports just now; staff will see them, please wait a little", id: report.id)
            return
        }
        guard allowMessage(session, id: report.id, bytes: FrameCodec.encodeValue(report).count) else { return }
        let stored = FrameCodec.encodeValue(report)
        let reporter = member.member
        let now = configuration.now()
        withStore({ database -> Result<DirectMessage?, ReportRefusal> in
            var message: DirectMessage?
            if let room = report.room {
                guard try database.roomMessageExists(room: room.value, sender: report.sender.bytes, messageID: report.message.bytes)
                else { return .failure(ReportRefusal(code: "unknown_message", message: "the report does not match a message of this room")) }
            } else {
                guard let bytes = try database.directMessage(messageID: report.message.bytes, recipient: reporter.bytes),
                      let direct = try? FrameCodec.decodeValue(DirectMessage.self, from: bytes)
                else { return .failure(ReportRefusal(code: "unknown_message", message: "the report does not match a message you received")) }
                do throws(ProtocolError) {
                    // The check moderators' clients make too: the evidence is what the named sender signed.
                    try ReportEntry(report: report, reporter: reporter, stored: direct).verify()
                } catch {
                    return .failure(ReportRefusal(code: error.code, message: "the report does not match a message you received"))
                }
                message = direct
            }
            try database.addReport(
                id: report.id.bytes, reporter: reporter.bytes, sender: report.sender.bytes, messageID: report.message.bytes,
                room: report.room?.value, category: report.category.rawValue, report: stored, now: now)
            return .success(message)
        }) { [unowned self] result in
            guard sessions[session.connection.id] === session else { return }
            switch result {
            case .success(.success(let message)):
                counters.reports += 1
                send(.ack(Ack(id: report.id, cursor: 0)), to: session)
                if report.category == .selfHarmRisk { alertCounsellors(to: report) }
                sendToStaffOnline(ReportEntry(report: report, reporter: reporter, stored: message))
            case .success(.failure(let refusal)):
                refuse(session, code: refusal.code, message: refusal.message, id: report.id)
            case .failure(let error):
                refuse(session, code: "store_failed", message: "\(error)", id: report.id)
            }
        }
    }

    /// Reports a page holds at most, and the most bytes they may take: a page stays a frame any
    /// client reads (``ProtocolLimits/maxFrameBytes``), well inside its send queue.
    static let reportsPerPage = 25
    /// Moderation actions in one page of the audit trail, at most (fewer if they would not fit).
    static let auditActionsPerPage = 100
    static let reportPageBytes = ProtocolLimits.maxFrameBytes - 8 * 1024

    /// Sends staff a page of reports, newest first (older than `request.before`, when given), each
    /// direct-message report with the stored message its evidence must match; `next` says where
    /// the following page starts.
    func listReports(_ request: ReportPageRequest, session: Session, member: MemberInfo) {
        guard member.staff != nil else {
            refuse(session, code: "not_a_moderator", message: "only staff may read reports")
            return
        }
        readReports(before: request.before) { [unowned self] list in
            guard sessions[session.connection.id] === session else { return }
            guard let list else {
                refuse(session, code: "store_failed", message: "the reports could not be read; try again")
                return
            }
            send(.reports(list), to: session)
        }
    }

    /// A new report reaches every staff member online at once (their inbox is live): that one
    /// entry, marked `live`, not the whole list again.
    private func sendToStaffOnline(_ entry: ReportEntry) {
        bus?.publish(.report, key: [], frame: FrameCodec.encodeValue(entry))
        tellStaffHere(entry)
    }

    /// A new report reaches the staff online here.
    func tellStaffHere(_ entry: ReportEntry) {
        broadcast(encode(.reports(ReportList(reports: [entry], live: true))), to: sessions.values.lazy.filter { $0.member?.staff != nil })
    }

    /// "I'm worried about this person": the counsellors online hear of it at once.
    private func alertCounsellors(to report: Report) {
        let name = sessionsByMember[report.sender]?.values.first?.member?.displayName
        let concern = Concern(report: report.id, room: report.room, message: report.message, member: report.sender, displayName: name)
        bus?.publish(.concern, key: [], frame: FrameCodec.encodeValue(concern))
        tellCounsellorsHere(concern)
    }

    /// A concern reaches the counsellors online here.
    func tellCounsellorsHere(_ concern: Concern) {
        broadcast(encode(.concern(concern)), to: counsellorsOnline.flatMap { (sessionsByMember[$0] ?? [:]).values })
    }

    private func readReports(before: MessageID?, then deliver: @escaping (ReportList?) -> Void) {
        let limit = Self.reportsPerPage
        withStore({ try $0.reports(before: before?.bytes, limit: limit + 1) }) { result in
            guard case .success(let records) = result else {
                deliver(nil)
                return
            }
            var page: [ReportEntry] = []
            var bytes = 0
            for record in records.prefix(limit) {
                guard let report = try? FrameCodec.decodeValue(Report.self, from: record.report),
                      let reporter = try? MemberID(bytes: record.reporter)
                else { continue }
                let stored = record.directMessage.flatMap { try? FrameCodec.decodeValue(DirectMessage.self, from: $0) }
                let entry = ReportEntry(report: report, reporter: reporter, stored: stored)
                bytes += FrameCodec.encodeValue(entry).count
                if bytes > Self.reportPageBytes && !page.isEmpty { break }
                page.append(entry)
            }
            let more = records.count > page.count
            deliver(ReportList(reports: page, next: more ? page.last?.report.id : nil))
        }
    }
}

/// Why a report was not recorded.
struct ReportRefusal: Error {
    let code: String
    let message: String
}

extension HavenServer {
    /// Sends staff a page of a room's moderation log with the service-wide actions (suspensions,
    /// bans) among it: the newest signed actions (or those before `before`) that fit one frame,
    /// oldest first, with the way to older ones.
    func sendAudit(_ request: AuditPageRequest, session: Session, member: MemberInfo) {
        let room = request.room
        guard member.staff != nil || member.appointment != nil else {
            refuse(session, code: "not_a_moderator", message: "only staff may read the audit trail", room: room)
            return
        }
        let roomText = room.value
        let limit = Self.auditActionsPerPage
        withStore({ try $0.moderationLogPage(room: roomText, before: request.before, limit: limit + 1) }) { [unowned self] result in
            guard sessions[session.connection.id] === session else { return }
            guard case .success(let entries) = result else {
                refuse(session, code: "store_failed", message: "the audit trail could not be read; try again", room: room)
                return
            }
            // Newest first until the page would not fit one frame; sent oldest first.
            var page: [(sequence: Int64, action: ModerationAction)] = []
            var bytes = 0
            for entry in entries.prefix(limit) {
                guard let action = try? FrameCodec.decodeValue(ModerationAction.self, from: entry.action) else { continue }
                bytes += entry.action.count
                if bytes > Self.reportPageBytes && !page.isEmpty { break }
                page.append((entry.sequence, action))
            }
            let more = entries.count > page.count
            send(.audit(AuditTrail(room: room, actions: page.reversed().map(\.action), next: more ? page.last?.sequence : nil)), to: session)
        }
    }
}
