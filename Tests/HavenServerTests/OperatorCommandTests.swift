import Foundation
import HavenNet
import HavenProtocol
import HavenStore
import HavenTestSupport
import Sodium
import Testing

/// The operator's commands, run as the real binary against a real data folder.
@Suite struct OperatorCommandTests {
    let folder = FileManager.default.temporaryDirectory.appendingPathComponent("haven-cli-\(UUID().uuidString)").path

    @discardableResult
    func haven(_ arguments: [String], environment: [String: String] = [:]) throws -> (status: Int32, output: String, errors: String) {
        try ServerProcess.run(arguments, environment: environment)
    }

    /// The arguments that point the CLI at a fresh database on `engine` (`--data` or `--store`),
    /// and where that database is.
    func database(_ engine: StoreEngine) throws -> (arguments: [String], location: StoreLocation) {
        let location = try freshStoreLocation(engine, folder: folder)
        guard case .postgres(let url) = location else { return (["--data", folder], location) }
        return (["--store", url], location)
    }

    @Test(arguments: StoreEngine.allCases) func roomsAreCreatedListedAndArchived(on engine: StoreEngine) throws {
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let data = try database(engine).arguments
        #expect(try haven(["rooms", "create", "--name", "Night owls"] + data).output.contains("created support room night-owls"))
        try haven(["rooms", "create", "--name", "Grief group", "--id", "grief", "--kind", "private", "--retention", "7d"] + data)
        let duplicate = try haven(["rooms", "create", "--name", "Night owls"] + data)
        #expect(duplicate.status != 0 && duplicate.errors.contains("already exists"))
        let list = try haven(["rooms", "list", "--json"] + data).output
        let rooms = try #require(JSONSerialization.jsonObject(with: Data(list.utf8)) as? [[String: Any]])
        #expect(rooms.map { $0["id"] as? String } == ["grief", "night-owls"])
        #expect(rooms.first?["retention_seconds"] as? Int == 604_800)
        #expect(try haven(["rooms", "archive", "grief"] + data).status == 0)
        let again = try haven(["rooms", "archive", "grief"] + data)
        #expect(again.status == 1 && again.errors.contains("already archived"))
        #expect(try haven(["rooms", "create", "--name", "!!!"] + data).status != 0)
    }

    @Test func backupsAreSealedToAKeyKeptAwayFromTheServerAndRestoredWithIt() throws {
        defer { try? FileManager.default.removeItem(atPath: folder) }
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let passphrase = folder + "/passphrase"
        _ = FileManager.default.createFile(atPath: passphrase, contents: Data("a long backup passphrase".utf8), attributes: [.posixPermissions: 0o600])
        let data = ["--data", folder + "/data"]
        // The server has no backup key yet: the operator is told how to make one.
        try haven(["rooms", "create", "--name", "Lobby"] + data)
        let keyless = try haven(["backup", "--keys", folder + "/server-keys", "--out", folder + "/backups"] + data)
        #expect(keyless.status == 1 && keyless.errors.contains("haven backup keygen"))

        // Made away from the server; only the public half is copied to it.
        let made = try haven(["backup", "keygen", "--keys", folder + "/offline", "--passphrase-file", passphrase])
        #expect(made.status == 0, "\(made.errors)")
        let secretMode = try FileManager.default.attributesOfItem(atPath: folder + "/offline/backup.key")[.posixPermissions] as? Int
        #expect(secretMode == 0o600)
        try haven(["keys", "init", "--keys", folder + "/server-keys"], environment: ["HAVEN_PASSPHRASE": "a long enough passphrase"])
        try FileManager.default.copyItem(atPath: folder + "/offline/backup.pub", toPath: folder + "/server-keys/backup.pub")
        let serverKey = try #require(try haven(["keys", "show", "--keys", folder + "/server-keys"]).output
            .split(separator: "\n").first { $0.hasPrefix("server public key:") }?.split(separator: " ").last).description

        let store = try HavenStore(path: folder + "/data/haven.sqlite")
        try store.performAndWait { _ = try $0.appendRoomMessage(room: "lobby", sender: [1], messageID: [1], epoch: 0, envelope: Array("kept".utf8), now: Int64(Date().timeIntervalSince1970)) }
        store.close()
        let backup = try haven(["backup", "--keys", folder + "/server-keys", "--out", folder + "/backups"] + data)
        #expect(backup.status == 0, "\(backup.errors)")
        let listed = try haven(["backup", "list", "--out", folder + "/backups"]).output.split(separator: "\n")
        #expect(listed.count == 1)
        let file = try #require(listed.first.flatMap { $0.split(separator: "\t").last }).description

        // Restored away from the server: the server key it must be signed by is the one noted.
        let restoring = ["restore", file, "--keys", folder + "/offline", "--data", folder + "/restored", "--server-keys", folder + "/nowhere"]
        let unknown = try haven(restoring + ["--passphrase-file", passphrase])
        #expect(unknown.status == 1 && unknown.errors.contains("pass --signed-by"), "\(unknown.errors)")
        let stranger = try haven(restoring + ["--passphrase-file", passphrase, "--signed-by", Base64URL.encode(try SigningKeyPair.generate().publicKey.bytes)])
        #expect(stranger.status == 1 && stranger.errors.contains("it was not made by this server"), "\(stranger.errors)")
        let wrong = try haven(restoring + ["--signed-by", serverKey], environment: ["HAVEN_PASSPHRASE": "not the passphrase at all"])
        #expect(wrong.status == 1 && wrong.errors.contains("wrong passphrase"))
        let unasked = try haven(restoring + ["--signed-by", serverKey, "--passphrase-file", passphrase])
        #expect(unasked.status == 1 && unasked.errors.contains("confirm at a terminal, or pass --yes"), "\(unasked.errors)")
        #expect(unasked.output.contains("rooms:         1: Lobby") && unasked.output.contains("messages:      1 in rooms"), "\(unasked.output)")
        #expect(!FileManager.default.fileExists(atPath: folder + "/restored/haven.sqlite"), "nothing is put in place unconfirmed")
        let restored = try haven(restoring + ["--signed-by", serverKey, "--passphrase-file", passphrase, "--yes"])
        #expect(restored.status == 0, "\(restored.errors)")
        let copy = try HavenStore(path: folder + "/restored/haven.sqlite")
        #expect(try copy.performAndWait { try $0.roomMessages(room: "lobby", after: 0, limit: 10) }.map(\.bytes) == [Array("kept".utf8)])
        copy.close()
        // On the server itself, server.key says which key signs.
        let again = try haven(["restore", file, "--keys", folder + "/offline", "--data", folder + "/restored", "--server-keys", folder + "/server-keys",
                               "--passphrase-file", passphrase, "--yes"])
        #expect(again.status == 1 && again.errors.contains("--replace"), "\(again.errors)")
    }

    @Test func rootWorksInTheServicesDataFolderAsTheServiceAndFollowsNoLinkThere() throws {
        guard geteuid() == 0 else { return }
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let data = folder + "/data"
        try haven(["rooms", "create", "--name", "Lobby", "--data", data])
        try FileManager.default.createDirectory(atPath: folder + "/keys", withIntermediateDirectories: true)
        for path in [folder, data, data + "/haven.sqlite", folder + "/keys"] { #expect(chown(path, 65534, 65534) == 0) }
        #expect(chmod(folder, 0o755) == 0)
        // An operator's `sudo haven rooms list`: the journal it makes is the service's, not root's.
        #expect(try haven(["rooms", "list", "--data", data]).status == 0)
        for file in try FileManager.default.contentsOfDirectory(atPath: data) {
            #expect(try FileManager.default.attributesOfItem(atPath: data + "/" + file)[.ownerAccountID] as? Int == 65534, "\(file) is root's")
        }
        // The service's user puts a link where the database was: root changes nothing through it.
        let victim = folder + "/victim"
        try Data("root's".utf8).write(to: URL(fileURLWithPath: victim))
        #expect(chmod(victim, 0o4755) == 0)
        try FileManager.default.removeItem(atPath: data + "/haven.sqlite")
        try FileManager.default.createSymbolicLink(atPath: data + "/haven.sqlite", withDestinationPath: victim)
        _ = try haven(["backup", "make", "--data", data, "--keys", folder + "/keys", "--out", folder + "/backups"])
        _ = try haven(["doctor", "--data", data, "--keys", folder + "/keys", "--config", folder + "/none.toml"])
        _ = try haven(["retention", "show", "--data", data])
        #expect(try FileManager.default.attributesOfItem(atPath: victim)[.posixPermissions] as? Int == 0o4755, "root changed a file through the link")
        #expect(try String(contentsOfFile: victim, encoding: .utf8) == "root's")

        // Root's keys init in the service's keys folder: the keys are the service's to read.
        try haven(["keys", "init", "--keys", folder + "/keys"], environment: ["HAVEN_PASSPHRASE": "a long enough passphrase"])
        for file in ["server.key", "organisation.key", "organisation.pub"] {
            let attributes = try FileManager.default.attributesOfItem(atPath: folder + "/keys/" + file)
            #expect(attributes[.ownerAccountID] as? Int == 65534, "\(file) is root's: the service could not read it")
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder + "/keys").allSatisfy { !$0.hasSuffix(".tmp") })

        // A root folder that others may change is no place for root to work in.
        let shared = folder + "-shared"
        defer { try? FileManager.default.removeItem(atPath: shared) }
        try haven(["rooms", "create", "--name", "Lobby", "--data", shared])
        #expect(chmod(shared, 0o770) == 0)
        let refused = try haven(["rooms", "list", "--data", shared])
        #expect(refused.status != 0 && refused.errors.contains("may be changed by users other than root"), "\(refused.errors)")
    }

    @Test func neitherARestoreNorASecondServerTakesTheDataFolderFromARunningOne() throws {
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let data = folder + "/data"
        try haven(["rooms", "create", "--name", "Lobby", "--data", data])
        let server = try ServerProcess(data: data)
        defer { server.terminate() }
        let second = try haven(["serve", "--listen", "127.0.0.1:0", "--data", data])
        #expect(second.status == 1 && second.errors.contains("in use by a running Haven server"), "\(second.errors)")
        let restore = try haven(["restore", folder + "/any.sealed", "--keys", folder + "/offline", "--data", data, "--replace",
                                 "--signed-by", Base64URL.encode(try SigningKeyPair.generate().publicKey.bytes)])
        #expect(restore.status == 1 && restore.errors.contains("a Haven server is running on \(data): stop it first"), "\(restore.errors)")
        #expect(try HTTPProbe.get(.tcp(host: "127.0.0.1", port: server.port), path: "/healthz", hostHeader: "x", tls: nil).status == 200)
    }

    @Test func aDeletedRoomLeavesNothingOnDisk() throws {
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let data = ["--data", folder]
        try haven(["rooms", "create", "--name", "Night owls"] + data)
        try haven(["rooms", "create", "--name", "Lobby"] + data)
        let marker = Array("NIGHT-OWLS-MESSAGE-\(UUID().uuidString)".utf8)
        let member = Array("A-MEMBER-ONLY-IN-NIGHT-OWLS-0001".utf8)
        let store = try HavenStore(path: folder + "/haven.sqlite")
        try store.performAndWait { database in
            try database.addRoomMember(room: "night-owls", member: member)
            _ = try database.storeKeyBundle(room: "night-owls", epoch: 0, recipient: member, sealer: member, bundle: marker, now: 1)
            _ = try database.appendRoomMessage(room: "night-owls", sender: member, messageID: [1], epoch: 0, envelope: marker, now: 1)
            _ = try database.appendRoomMessage(room: "lobby", sender: [2], messageID: [1], epoch: 0, envelope: Array("kept".utf8), now: 1)
        }
        store.close()
        let onDisk = { () -> Bool in
            ["", "-wal"].compactMap { FileManager.default.contents(atPath: folder + "/haven.sqlite" + $0) }
                .contains { $0.firstRange(of: marker) != nil || $0.firstRange(of: member) != nil }
        }
        #expect(onDisk())

        let unconfirmed = try haven(["rooms", "delete", "night-owls"] + data)
        #expect(unconfirmed.status != 0 && unconfirmed.errors.contains("--yes"), "deleting a room asks to be confirmed")
        #expect(try haven(["rooms", "list"] + data).output.contains("night-owls"))
        let deleted = try haven(["rooms", "delete", "night-owls", "--yes"] + data)
        #expect(deleted.status == 0 && deleted.output.contains("deleted night-owls"))
        #expect(!onDisk(), "the room's messages, members or keys are still in the database or its WAL")
        let list = try haven(["rooms", "list"] + data).output
        #expect(!list.contains("night-owls") && list.contains("lobby"))
        let missing = try haven(["rooms", "delete", "night-owls", "--yes"] + data)
        #expect(missing.status != 0 && missing.errors.contains("room night-owls"))
    }

    @Test(arguments: StoreEngine.allCases) func retentionIsShownSetAndRun(on engine: StoreEngine) throws {
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let data = try database(engine).arguments
        try haven(["rooms", "create", "--name", "Lobby"] + data)
        #expect(try haven(["retention", "set", "direct_messages", "14d"] + data).status == 0)
        #expect(try haven(["retention", "set", "--room", "lobby", "forever"] + data).status == 0)
        let shown = try haven(["retention", "show"] + data).output
        #expect(shown.contains("direct_messages\t2w"))
        #expect(shown.contains("room lobby\tforever"))
        #expect(try haven(["retention", "set", "bogus", "3d"] + data).status != 0)
        #expect(try haven(["retention", "set", "reports", "soon"] + data).status != 0)
        let run = try haven(["retention", "run", "--dry-run"] + data)
        #expect(run.status == 0 && run.output.contains("would delete 0 rows"))
    }

    @Test func auditShowsTheLogWithSignaturesChecked() throws {
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let moderator = try SigningKeyPair.generate()
        let action = ModerationAction.sign(.ban, target: MemberID(try SigningKeyPair.generate().publicKey), issuedAt: 1_800_000_000, by: moderator)
        var forged = ModerationAction.sign(.suspend, target: action.target, until: 1_800_003_600, issuedAt: 1_800_000_000, by: moderator)
        forged.until = 1_900_000_000
        let store = try HavenStore(path: try { try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true); return folder + "/haven.sqlite" }())
        for entry in [action, forged] {
            let bytes = FrameCodec.encodeValue(entry)
            _ = try store.performAndWait {
                try $0.appendModeration(id: entry.id.bytes, kind: entry.kind.rawValue, room: nil, moderator: entry.moderator.bytes,
                                        target: entry.target?.bytes, action: bytes, now: 1_800_000_000)
            }
        }
        store.close()
        let error = #expect(throws: StoreError.self) {
            try SQLiteConnection(path: folder + "/haven.sqlite").execute("UPDATE moderation_log SET kind = 'lift'")
        }
        #expect(error?.description.contains("append-only") == true)
        let audit = try haven(["audit", "--data", folder])
        #expect(audit.status == 1, "an invalid signature fails the audit")
        #expect(audit.output.contains("ban  by \(moderator.publicKey)"))
        #expect(audit.output.contains("SIGNATURE INVALID"))
        #expect(audit.output.contains("2 actions; 1 with an invalid signature"))
    }

    @Test(arguments: StoreEngine.allCases) func auditCallsListsOnlyThatCallsHappened(on engine: StoreEngine) throws {
        defer { try? FileManager.default.removeItem(atPath: folder) }
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let (data, location) = try database(engine)
        let (caller, callee) = (MemberID(try SigningKeyPair.generate().publicKey), MemberID(try SigningKeyPair.generate().publicKey))
        let store = try HavenStore(location)
        try store.performAndWait { try $0.appendCallRecord(caller: caller.bytes, callee: callee.bytes, startedAt: 1_800_000_000, endedAt: 1_800_000_754) }
        store.close()
        let audit = try haven(["audit", "--calls"] + data)
        #expect(audit.status == 0)
        #expect(audit.output.contains("\(caller) called \(callee)  for 754 s"))
        #expect(audit.output.contains("calls recorded: 1"))
        let json = try haven(["audit", "--calls", "--json"] + data)
        #expect(json.output.contains(#""answered_at":1800000000"#) && json.output.contains(#""ended_at":1800000754"#))
    }

    @Test func keysAreCreatedAndOpenedOnlyWithThePassphrase() throws {
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let keys = ["--keys", folder + "/Keys"]
        let created = try haven(["keys", "init"] + keys, environment: ["HAVEN_PASSPHRASE": "a long enough passphrase"])
        #expect(created.status == 0)
        let exported = try haven(["keys", "export-public"] + keys).output.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(created.output.contains(exported))
        #expect(try haven(["keys", "show", "--verify"] + keys, environment: ["HAVEN_PASSPHRASE": "a long enough passphrase"]).status == 0)
        let wrong = try haven(["keys", "show", "--verify"] + keys, environment: ["HAVEN_PASSPHRASE": "not the passphrase"])
        #expect(wrong.status == 1 && wrong.errors.contains("wrong passphrase"))
        let again = try haven(["keys", "init"] + keys, environment: ["HAVEN_PASSPHRASE": "a long enough passphrase"])
        #expect(again.status == 1 && again.errors.contains("refusing to overwrite"))
        let changed = try haven(["keys", "change-passphrase"] + keys,
                                environment: ["HAVEN_PASSPHRASE": "a long enough passphrase", "HAVEN_NEW_PASSPHRASE": "another long passphrase"])
        #expect(changed.status == 0)
        #expect(try haven(["keys", "show", "--verify"] + keys, environment: ["HAVEN_PASSPHRASE": "another long passphrase"]).status == 0)
        let weak = try haven(["keys", "init", "--keys", folder + "/Other"], environment: ["HAVEN_PASSPHRASE": "short"])
        #expect(weak.status == 1 && weak.errors.contains("at least 12 characters"))
    }

    @Test(arguments: StoreEngine.allCases) func staffAreConfirmedRenewedAndRevokedByASignedRoster(on engine: StoreEngine) throws {
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let passphrase = ["HAVEN_PASSPHRASE": "a long enough passphrase"]
        let keys = ["--keys", folder + "/Keys"], (data, location) = try database(engine)
        try haven(["keys", "init"] + keys, environment: passphrase)
        try haven(["rooms", "create", "--name", "Lobby"] + data)   // the database the server made
        let insecure = try haven(["invite", "create", "--role", "counsellor", "--url", "http://chat.example.org/"] + keys + data, environment: passphrase)
        #expect(insecure.status != 0 && insecure.errors.contains("https://"), "an invite link carries a secret: https only")
        let created = try haven(["invite", "create", "--role", "counsellor", "--url", "https://chat.example.org/", "--server-name", "chat.example.org"]
                                + keys + data, environment: passphrase)
        let link = created.output.split(separator: "\n")[0]
        let organisation = try haven(["keys", "export-public"] + keys).output.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(link.hasPrefix("https://chat.example.org/#org=\(organisation)&server=chat.example.org&invite="))

        // A counsellor redeems it, as the server would record it.
        let (id, seed) = try InviteLink.parse(String(link.split(separator: "invite=")[1]))
        let counsellor = try SigningKeyPair.generate()
        let store = try HavenStore(location)
        let invite = try FrameCodec.decodeValue(InviteCertificate.self, from: try store.performAndWait { try $0.invite(id) }!.certificate)
        let certificate = try StaffCertificate.redeem(invite, seed: seed, member: MemberID(counsellor.publicKey))
        let member = Base64URL.encode(counsellor.publicKey.bytes)
        _ = try store.performAndWait {
            try $0.redeemInvite(id, member: counsellor.publicKey.bytes, role: "counsellor", staffCertificate: FrameCodec.encodeValue(certificate), now: 1)
        }
        store.close()

        #expect(try haven(["staff", "list"] + data).output.contains("\(member)\tcounsellor\tactive"))
        #expect(try haven(["staff", "list"] + data).output.contains("not on the roster yet"))
        #expect(try haven(["staff", "confirm"] + keys + data, environment: passphrase).output.contains("roster 1 signed: 1 staff, 0 revoked"))
        // A key may start with "-": after "--" it is never taken for an option.
        let renewed = try haven(["staff", "renew", "--for", "400d"] + keys + data + ["--", String(member.prefix(8))], environment: passphrase)
        #expect(renewed.status == 0 && renewed.output.contains("roster 2 signed"), "\(renewed.errors)")
        #expect(try haven(["staff", "revoke", "zzzz"] + keys + data, environment: passphrase).errors.contains("no staff member's key starts with zzzz"))
        #expect(try haven(["staff", "revoke"] + keys + data + ["--", String(member.prefix(8))], environment: passphrase).status == 0)
        #expect(try haven(["staff", "list"] + data).output.contains("\(member)\tcounsellor\trevoked"))

        // The saved roster is what clients check: signed by the organisation key, the invite bound
        // to this key, renewed past the certificate's own expiry, and the counsellor revoked.
        let reopened = try HavenStore(location)
        defer { reopened.close() }
        let saved = try reopened.performAndWait { try $0.staffRoster() }!
        let roster = try FrameCodec.decodeValue(StaffRoster.self, from: saved.roster)
        var trust = StaffTrust(organisation: try SigningPublicKey(bytes: Base64URL.decode(organisation)))
        try trust.adopt(roster)
        #expect(roster.sequence == 3 && roster.staff.map(\.member) == [certificate.member])
        #expect(roster.staff[0].until > invite.staffUntil)
        let now = UInt64(Date().timeIntervalSince1970)
        #expect(trust.role(of: MemberInfo(member: certificate.member, displayName: "Ana", staff: certificate), at: now) == nil)
    }

    @Test func widgetExportRefusesAPlainHTTPServerAndAMissingWidget() throws {
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let keys = ["--keys", folder + "/Keys"]
        try haven(["keys", "init"] + keys, environment: ["HAVEN_PASSPHRASE": "a long enough passphrase"])
        let plain = try haven(["widget", "export", "--out", folder + "/out", "--server", "http://chat.example.org"] + keys)
        #expect(plain.status != 0 && plain.errors.contains("--server must start with https://"))
        let missing = try haven(["widget", "export", "--out", folder + "/out", "--server", "https://chat.example.org",
                                 "--web", folder + "/no-widget-here"] + keys)
        #expect(missing.status != 0 && !missing.errors.isEmpty)
        #expect(!FileManager.default.fileExists(atPath: folder + "/out/index.html"), "nothing half-written")
        let snippet = try haven(["widget", "snippet", "--url", "https://chat.example.org/", "--server-name", "chat.example.org"] + keys)
        let organisation = try haven(["keys", "export-public"] + keys).output.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(snippet.output.contains("src=\"https://chat.example.org/#org=\(organisation)&server=chat.example.org\""))
    }
}
