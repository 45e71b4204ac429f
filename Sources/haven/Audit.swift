import ArgumentParser
import Foundation
import HavenProtocol
import HavenStore
import Sodium

/// `haven audit`: the moderation log, with every action's signature checked; or the call log.
struct Audit: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show the moderation log.",
        discussion: """
            Every moderation action is signed by the moderator's key and appended to a log the
            server cannot edit. This prints it, oldest first, and checks each signature.
            With --calls it prints the call log instead: that a call happened (who called whom,
            when it was answered and ended), recorded only when [calls] audit = true.

            Examples:
              haven audit
              haven audit --room lobby --since 24h
              haven audit --json
              haven audit --calls --since 7d
            """)

    @OptionGroup var location: DataLocation
    @Option(help: "Only actions about this room.")
    var room: String?
    @Option(help: "Only actions from the last period: 24h, 7d...")
    var since: RetentionPeriod?
    @Flag(help: "Print JSON lines for scripts.")
    var json = false
    @Flag(help: "Show the call log instead of the moderation log.")
    var calls = false

    func run() throws {
        let room = room
        let from = since?.seconds.map { Int64(Date().timeIntervalSince1970) - $0 } ?? 0
        if calls {
            try printCallLog(since: from)
            return
        }
        let entries = try withStore(location) { store in try store.performAndWait { try $0.moderationLog(room: room, since: from) } }
        var forged = 0
        for entry in entries {
            guard let action = try? FrameCodec.decodeValue(ModerationAction.self, from: entry.action) else { continue }
            let verified = (try? action.verify()) != nil
            if !verified { forged += 1 }
            if json {
                var object: [String: Any] = [
                    "sequence": entry.sequence, "recorded_at": entry.createdAt, "kind": action.kind.rawValue,
                    "moderator": action.moderator.description, "signature_valid": verified,
                ]
                object["room"] = action.room?.value
                object["target"] = action.target?.description
                object["message"] = action.message?.description
                object["until"] = action.until
                object["lifts"] = action.lifts?.description
                print(String(decoding: try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]), as: UTF8.self))
                continue
            }
            let time = Date(timeIntervalSince1970: TimeInterval(entry.createdAt)).formatted(.iso8601)
            var line = "\(time)  #\(entry.sequence)  \(action.kind.rawValue)  by \(action.moderator)"
            if let target = action.target { line += "  member \(target)" }
            if let room = action.room { line += "  room \(room)" }
            if let message = action.message { line += "  message \(message)" }
            if let until = action.until { line += "  until \(Date(timeIntervalSince1970: TimeInterval(until)).formatted(.iso8601))" }
            if let lifts = action.lifts { line += "  lifts \(lifts)" }
            print(line + (verified ? "" : "  SIGNATURE INVALID"))
        }
        if !json { print("\(entries.count) actions; \(forged == 0 ? "all signatures valid" : "\(forged) with an invalid signature")") }
        if forged > 0 { throw ExitCode.failure }
    }

    private func printCallLog(since: Int64) throws {
        let records = try withStore(location) { store in try store.performAndWait { try $0.callLog(since: since) } }
        for record in records {
            let caller = (try? MemberID(bytes: record.caller))?.description ?? "?"
            let callee = (try? MemberID(bytes: record.callee))?.description ?? "?"
            if json {
                let object: [String: Any] = [
                    "sequence": record.sequence, "caller": caller, "callee": callee,
                    "answered_at": record.startedAt, "ended_at": record.endedAt,
                ]
                print(String(decoding: try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]), as: UTF8.self))
            } else {
                let time = Date(timeIntervalSince1970: TimeInterval(record.startedAt)).formatted(.iso8601)
                print("\(time)  #\(record.sequence)  \(caller) called \(callee)  for \(record.endedAt - record.startedAt) s")
            }
        }
        if !json { print("calls recorded: \(records.count)") }
    }
}
