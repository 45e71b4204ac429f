import ArgumentParser
import Foundation
import HavenKeys
import HavenProtocol
import HavenStore
import Sodium

/// `haven staff`: who is staff, and the organisation's signed roster that renews and revokes them.
struct Staff: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List, renew and revoke staff (counsellors and moderators).",
        discussion: """
            A staff certificate expires (`invite create --staff-for`, 90 days by default). The
            organisation key signs a roster of current staff: it binds each redeemed invite to the
            one key it certified, carries renewed expiry times, and lists revoked members. The
            server hands the newest roster to every client, and clients check it before they show
            a badge or honour a staff action; a running server picks a new roster up within a
            minute. Renewing and revoking need the organisation key's passphrase, as `invite
            create` does; `confirm` signs the roster again so newly redeemed invites are bound.

            Examples:
              haven staff list
              haven staff revoke 6Pq2Xk
              haven staff renew --for 90d 6Pq2Xk
              haven staff revoke -- -Xb3Tq      (a key that starts with "-" goes after "--")
              haven staff confirm

            Exit codes: 0 on success, 1 when the key, the store or the member is not found.
            """,
        subcommands: [List.self, Revoke.self, Renew.self, Confirm.self]
    )

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List staff, their expiry and state.")
        @OptionGroup var location: DataLocation
        @Flag(help: "Print JSON for scripts.")
        var json = false

        func run() throws {
            let (members, roster) = try StaffRosterFile.read(location)
            let now = UInt64(Date().timeIntervalSince1970)
            let rows = members.map { StaffRow(record: $0, roster: roster, now: now) }
            if json {
                let objects: [[String: Any]] = rows.map {
                    ["member": $0.member, "role": $0.role, "state": $0.state, "until": $0.until as Any, "on_roster": $0.onRoster]
                }
                print(String(decoding: try JSONSerialization.data(withJSONObject: objects, options: [.sortedKeys]), as: UTF8.self))
                return
            }
            if let roster { print("roster \(roster.sequence), signed \(Self.date(roster.issuedAt))") } else { print("no roster signed yet") }
            for row in rows {
                let until = row.until.map { "until \(Self.date($0))" } ?? "while their counsellor is staff"
                print("\(row.member)\t\(row.role)\t\(row.state)\t\(until)\(row.onRoster ? "" : "\t(not on the roster yet: run `haven staff confirm`)")")
            }
        }

        static func date(_ seconds: UInt64) -> String { Date(timeIntervalSince1970: TimeInterval(seconds)).formatted(.iso8601) }
    }

    struct Revoke: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Revoke a member's staff status now (by the key, or its start, that `staff list` shows).")
        @OptionGroup var location: DataLocation
        @OptionGroup var signing: StaffSigning
        @Argument(help: "The member's key, or enough of its start to be unique (after \"--\" if it begins with \"-\").")
        var member: String

        func run() throws {
            let now = UInt64(Date().timeIntervalSince1970)
            let roster = try signing.sign(location) { members, grants, revoked in
                let target = try StaffRosterFile.member(member, in: members)
                guard !revoked.contains(where: { $0.member == target }) else { throw ValidationError("\(member) is already revoked") }
                revoked.append(StaffRevocation(member: target, since: now))
            }
            print("revoked \(member); roster \(roster.sequence) signed")
        }
    }

    struct Renew: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Extend a counsellor's or moderator's staff certificate.")
        @OptionGroup var location: DataLocation
        @OptionGroup var signing: StaffSigning
        @Argument(help: "The member's key, or enough of its start to be unique (after \"--\" if it begins with \"-\").")
        var member: String
        @Option(name: .customLong("for"), help: "How long from now: 90d, 12w...")
        var period: RetentionPeriod = RetentionPeriod(argument: "90d")!

        func run() throws {
            guard let seconds = period.seconds else { throw ValidationError("staff status must expire (e.g. --for 90d)") }
            let until = UInt64(Date().timeIntervalSince1970) + UInt64(seconds)
            let roster = try signing.sign(location) { members, grants, revoked in
                let target = try StaffRosterFile.member(member, in: members)
                guard !revoked.contains(where: { $0.member == target }) else { throw ValidationError("\(member) was revoked; invite them again") }
                let indices = grants.indices.filter { grants[$0].member == target }
                guard !indices.isEmpty else {
                    throw ValidationError("\(member) is an appointed moderator: they are staff while their counsellor is")
                }
                for index in indices { grants[index].until = until }
            }
            print("renewed \(member) until \(List.date(until)); roster \(roster.sequence) signed")
        }
    }

    struct Confirm: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Sign the roster again, binding every redeemed invite to its key.")
        @OptionGroup var location: DataLocation
        @OptionGroup var signing: StaffSigning

        func run() throws {
            let roster = try signing.sign(location) { _, _, _ in }
            print("roster \(roster.sequence) signed: \(roster.staff.count) staff, \(roster.revoked.count) revoked")
        }
    }
}

/// The organisation key that signs rosters.
struct StaffSigning: ParsableArguments {
    @Option(help: "The keys folder.")
    var keys = InstalledFiles.defaultKeys
    @Option(help: "Read the organisation key's passphrase from this file.")
    var passphraseFile: String?

    /// Builds the next roster from the store (every redeemed invite bound to its key, the current
    /// roster's renewals and revocations), lets `change` edit it, signs it and saves it.
    func sign(
        _ location: DataLocation, change: ([StaffRecord], inout [StaffGrant], inout [StaffRevocation]) throws -> Void
    ) throws -> StaffRoster {
        // The key first: run as root, opening the store works as the data folder's owner, who
        // may not read root's passphrase file.
        var organisation: SigningKeyPair?
        try reportingOperatorErrors {
            let passphrase = try Passphrase.read(file: passphraseFile, prompt: "Passphrase for the organisation key: ")
            organisation = try KeyDirectory(path: keys).organisationKey(passphrase: passphrase)
        }
        guard let organisation else { throw ExitCode.failure }
        let (members, current) = try StaffRosterFile.read(location)
        // Every redeemed invite is bound to the key it certified, even a member's earlier invite
        // (the staff table keeps one certificate per member; the invites table keeps them all).
        let redeemed = try withStore(location) { store in try store.performAndWait { try $0.redeemedInvites() } }
        var grants = redeemed.compactMap { record -> StaffGrant? in
            guard let invite = try? FrameCodec.decodeValue(InviteCertificate.self, from: record.certificate),
                  let member = try? MemberID(bytes: record.member)
            else { return nil }
            let until = current?.grant(invite: invite.id)?.until ?? invite.staffUntil
            return StaffGrant(invite: invite.id, member: member, role: invite.role, until: until)
        }
        // A grant once signed is never dropped: the store keeps one certificate per member, so a
        // counsellor who redeemed a second invite would otherwise free their first invite's key slot.
        let listed = Set(grants.map(\.invite))
        grants += (current?.staff ?? []).filter { !listed.contains($0.invite) }
        var revoked = current?.revoked ?? []
        try change(members, &grants, &revoked)
        let roster = StaffRoster.sign(
            sequence: (current?.sequence ?? 0) + 1, issuedAt: UInt64(Date().timeIntervalSince1970), staff: grants, revoked: revoked,
            organisation: organisation)
        let bytes = FrameCodec.encodeValue(roster)
        do {
            let store = try location.openStore()
            defer { store.close() }
            try store.performAndWait { try $0.saveStaffRoster(sequence: Int64(roster.sequence), roster: bytes) }
        } catch StoreError.conflict {
            throw ValidationError("another roster was signed at the same moment, so this change was not saved: run the command again")
        }
        return roster
    }
}

/// Reading staff and the saved roster.
enum StaffRosterFile {
    static func read(_ location: DataLocation) throws -> ([StaffRecord], StaffRoster?) {
        try withStore(location) { store in
            try store.performAndWait { database in
                (try database.staffMembers(), try database.staffRoster().flatMap { try? FrameCodec.decodeValue(StaffRoster.self, from: $0.roster) })
            }
        }
    }

    /// The one staff member whose key starts with `prefix`.
    static func member(_ prefix: String, in members: [StaffRecord]) throws -> MemberID {
        let matches = Set(members.map { Base64URL.encode($0.member) }.filter { $0.hasPrefix(prefix) })
        guard prefix.count >= 4, matches.count == 1, let match = matches.first, let bytes = try? Base64URL.decode(match),
              let member = try? MemberID(bytes: bytes)
        else {
            throw ValidationError(matches.count > 1 ? "\(prefix) matches several staff members; give more of the key" : "no staff member's key starts with \(prefix)")
        }
        return member
    }
}

/// One line of `staff list`.
struct StaffRow {
    let member: String
    let role: String
    let state: String
    let until: UInt64?
    let onRoster: Bool

    init(record: StaffRecord, roster: StaffRoster?, now: UInt64) {
        member = Base64URL.encode(record.member)
        role = record.role
        let certificate = record.certificate.flatMap { try? FrameCodec.decodeValue(StaffCertificate.self, from: $0) }
        let grant = certificate.flatMap { roster?.grant(invite: $0.invite.id) }
        until = grant?.until ?? certificate?.invite.staffUntil
        onRoster = certificate == nil || grant != nil
        let revoked = (try? MemberID(bytes: record.member)).flatMap { roster?.revokedSince($0) } != nil
        state = revoked ? "revoked" : (until.map { $0 <= now } ?? false) ? "expired" : "active"
    }
}
