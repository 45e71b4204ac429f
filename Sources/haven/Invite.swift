import ArgumentParser
import Foundation
import HavenKeys
import HavenProtocol
import HavenStore
import Sodium

/// `haven invite`: counsellor and moderator invites signed by the organisation key.
struct Invite: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Create, list and revoke staff invites.",
        discussion: """
            An invite is signed by the organisation key and carries a one-time secret in its link's
            fragment (the part after #, which browsers never send to a server). Whoever opens the
            link first becomes staff with the invite's role; the server refuses it after that, after
            it expires, or once revoked. Send the link over a channel you trust.
            """,
        subcommands: [Create.self, List.self, Revoke.self]
    )

    struct Create: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create an invite and print its link.",
            discussion: """
                Examples:
                  haven invite create --role counsellor --url https://chat.example.org/ --server-name chat.example.org --note "Sam, night shift"
                  haven invite create --role moderator --expires 7d --url https://chat.example.org/

                The link carries the organisation key and the server's name in its fragment, so the
                widget checks the invite against the key you hold, not one the server hands out.
                """)
        @OptionGroup var location: DataLocation
        @Option(help: "The keys folder.")
        var keys = InstalledFiles.defaultKeys
        @Option(help: "counsellor or moderator.")
        var role: RoleArgument
        @Option(help: "How long the invite can be redeemed: 72h, 7d...")
        var expires: RetentionPeriod = RetentionPeriod(argument: "72h")!
        @Option(help: "A note for operators (stored on the server, never sent to clients).")
        var note = ""
        @Option(help: "How long the staff member stays staff unless renewed (`haven staff renew`): 90d...")
        var staffFor: RetentionPeriod = RetentionPeriod(argument: "90d")!
        @Option(help: "The https address of the widget the link opens.")
        var url: String
        @Flag(help: "Allow an http:// address (a demo on this machine only).")
        var allowHttp = false
        @Option(help: "The server's name (server_name), which the widget checks at sign-in.")
        var serverName: String?
        @Option(help: "Read the organisation key's passphrase from this file.")
        var passphraseFile: String?

        func validate() throws {
            guard url.hasPrefix("https://") || (allowHttp && url.hasPrefix("http://")) else {
                throw ValidationError("--url must start with https:// (the link carries a secret); --allow-http for a demo on this machine")
            }
        }

        func run() throws {
            guard let lifetime = expires.seconds else { throw ValidationError("an invite must expire (e.g. --expires 72h)") }
            guard let staffLifetime = staffFor.seconds else { throw ValidationError("staff status must expire (e.g. --staff-for 90d)") }
            let now = Int64(Date().timeIntervalSince1970)
            let (certificate, seed, organisation) = try {
                var result: (InviteCertificate, SecretBytes, SigningPublicKey)?
                try reportingOperatorErrors {
                    let passphrase = try Passphrase.read(file: passphraseFile, prompt: "Passphrase for the organisation key: ")
                    let organisation = try KeyDirectory(path: keys).organisationKey(passphrase: passphrase)
                    let (certificate, seed) = try InviteCertificate.issue(
                        role: role.role, expiresAt: UInt64(now + lifetime), staffUntil: UInt64(now + lifetime + staffLifetime),
                        organisation: organisation)
                    result = (certificate, seed, organisation.publicKey)
                }
                return result!
            }()
            let id = certificate.id.bytes, roleName = role.rawValue, note = note
            let stored = FrameCodec.encodeValue(certificate)
            try withStore(location) { store in
                try store.performAndWait {
                    try $0.createInvite(id: id, role: roleName, certificate: stored, note: note, now: now, expiresAt: now + lifetime)
                }
            }
            let anchor = OrganisationAnchor.fragment(organisation: organisation, serverName: serverName)
            print("\(url)#\(anchor)&invite=\(InviteLink.fragment(id: id, seed: seed))")
            print("invite \(Base64URL.encode(id)): \(roleName), expires in \(expires); the link works once")
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List invites and their state.")
        @OptionGroup var location: DataLocation
        @Flag(help: "Print JSON for scripts.")
        var json = false

        func run() throws {
            let invites = try withStore(location) { store in try store.performAndWait { try $0.invites() } }
            let now = Int64(Date().timeIntervalSince1970)
            if json {
                let objects: [[String: Any]] = invites.map {
                    ["id": Base64URL.encode($0.id), "role": $0.role, "state": $0.state(now: now), "note": $0.note,
                     "created_at": $0.createdAt, "expires_at": $0.expiresAt]
                }
                print(String(decoding: try JSONSerialization.data(withJSONObject: objects, options: [.sortedKeys]), as: UTF8.self))
                return
            }
            for invite in invites {
                let expiry = Date(timeIntervalSince1970: TimeInterval(invite.expiresAt)).formatted(.iso8601)
                print("\(Base64URL.encode(invite.id))\t\(invite.role)\t\(invite.state(now: now))\texpires \(expiry)\t\(invite.note)")
            }
        }
    }

    struct Revoke: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Revoke an open invite (by the id `invite list` shows).")
        @OptionGroup var location: DataLocation
        @Argument(help: "The invite id (after \"--\" if it begins with \"-\").")
        var id: String

        func run() throws {
            guard let bytes = try? Base64URL.decode(id), bytes.count == 16 else { throw ValidationError("\(id) is not an invite id") }
            let now = Int64(Date().timeIntervalSince1970)
            try withStore(location) { store in try store.performAndWait { try $0.revokeInvite(bytes, now: now) } }
            print("revoked \(id)")
        }
    }
}

/// The role named on the command line.
enum RoleArgument: String, ExpressibleByArgument, CaseIterable {
    case counsellor, moderator

    var role: StaffRole { self == .counsellor ? .counsellor : .moderator }
}
