import Foundation
import HavenBackup
import HavenKeys
import HavenStore
import HavenTestSupport
import Sodium
import Testing

/// `haven doctor` names what needs fixing in an installation, with how, and passes a good one.
@Suite struct DoctorTests {
    let folder = FileManager.default.temporaryDirectory.appendingPathComponent("haven-doctor-\(UUID().uuidString)").path

    func write(_ text: String, to path: String, mode: Int = 0o644) throws {
        try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        _ = FileManager.default.createFile(atPath: path, contents: Data(text.utf8), attributes: [.posixPermissions: mode])
    }

    @Test func eachProblemIsNamedWithItsFix() throws {
        defer { try? FileManager.default.removeItem(atPath: folder) }
        try write(#"data = "\#(folder)/data"\#nallowed_origins = ["*"]\#n"#, to: folder + "/haven.toml")
        try ServerProcess.run(["rooms", "create", "--name", "Lobby", "--data", folder + "/data"])
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: folder + "/data")
        try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: folder + "/data/haven.sqlite")
        try write("{}", to: folder + "/keys/server.key", mode: 0o644)
        try write("a snapshot in the clear", to: folder + "/data/.haven-unfinished-restore-1.sqlite", mode: 0o600)

        let doctor = try ServerProcess.run(["doctor", "--config", folder + "/haven.toml", "--keys", folder + "/keys"])
        #expect(doctor.status == 1)
        let report = doctor.output
        #expect(report.contains("PROBLEM  the data folder \(folder)/data is 0755: others can look into it\n         fix: chmod 700 \(folder)/data"))
        #expect(report.contains("fix: chmod 600 \(folder)/data/haven.sqlite"))
        #expect(report.contains("PROBLEM  \(folder)/keys/server.key is 0644: others can read a secret key"))
        #expect(report.contains("PROBLEM  no \(folder)/keys/organisation.pub: staff invites cannot be redeemed"))
        #expect(report.contains("WARNING  allowed_origins lets any site open Haven"))
        #expect(report.contains("WARNING  server_name is a placeholder"))
        #expect(report.contains("WARNING  no crisis contacts"))
        #expect(report.contains("PROBLEM  no server answers"), "a stopped server fails the check, for monitoring")
        #expect(report.contains("PROBLEM  \(folder)/data/.haven-unfinished-restore-1.sqlite was left by a backup or restore cut off"))
        #expect(report.contains("6 to fix"))
    }

    @Test func aGoodInstallationPasses() throws {
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let keys = KeyDirectory(path: folder + "/keys")
        var bytes = Array("a long enough passphrase".utf8)
        _ = try keys.initialise(passphrase: SecretBytes(consuming: &bytes), limits: .minimum)
        var backup = Array("a long backup passphrase".utf8)
        _ = try keys.createBackupKey(passphrase: SecretBytes(consuming: &backup), limits: .minimum)
        try FileManager.default.removeItem(atPath: keys.backupKeyPath)   // kept away from the server
        let socket = folder + "/haven.sock"
        let server = try ServerProcess(data: folder + "/data", listen: socket, arguments: ["--keys", keys.path])
        defer { server.terminate() }
        try write("""
            listen = "\(socket)"
            data = "\(folder)/data"
            server_name = "support.riverside-care.org"
            allowed_origins = ["https://support.riverside-care.org"]

            [widget]
            crisis_contacts = [{ name = "Samaritans", contact = "116 123" }]
            """, to: folder + "/haven.toml")

        let doctor = try ServerProcess.run(["doctor", "--config", folder + "/haven.toml", "--keys", keys.path])
        #expect(doctor.status == 0, "\(doctor.output)")
        #expect(doctor.output.contains("ok       Haven listens on \(socket) (0660), which only the proxy in its group may open"))
        #expect(doctor.output.contains("ok       the server answers on \(socket)"))
        #expect(doctor.output.contains("ok       1 crisis contact(s) set"))
        #expect(doctor.output.contains("WARNING  nobody is in the group root, so no proxy can open the socket"), "\(doctor.output)")
        #expect(doctor.output.contains("0 to fix, 2 to look at"), "only the TURN relay and a proxy in the socket's group are missing: \(doctor.output)")

        // Backups set up: none made yet, then one three days old.
        let backups = folder + "/backups"
        try write((try String(contentsOfFile: folder + "/haven.toml", encoding: .utf8)).replacingOccurrences(of: "data = ", with: "backups = \"\(backups)\"\ndata = "),
                  to: folder + "/backed-up.toml")
        let none = try ServerProcess.run(["doctor", "--config", folder + "/backed-up.toml", "--keys", keys.path]).output
        #expect(none.contains("WARNING  no backup in \(backups) yet"), "\(none)")
        let old = Int64(Date().timeIntervalSince1970) - 3 * 86_400
        _ = try BackupFolder(path: backups).make(from: folder + "/data/haven.sqlite", sealedTo: keys.backupPublicKey(), signedBy: keys.serverKey(), now: old)
        let stale = try ServerProcess.run(["doctor", "--config", folder + "/backed-up.toml", "--keys", keys.path]).output
        #expect(stale.contains("WARNING  the newest backup is 3 days old: backups have stopped"), "\(stale)")

        try FileManager.default.setAttributes([.posixPermissions: 0o666], ofItemAtPath: socket)
        let opened = try ServerProcess.run(["doctor", "--config", folder + "/haven.toml", "--keys", keys.path]).output
        #expect(opened.contains("PROBLEM  \(socket) is 0666: any user of this machine could connect as the proxy"), "\(opened)")
    }

    @Test func theDiskTheOpenFilesLimitRetentionTheSchemaAndTLSAreEachChecked() throws {
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let data = folder + "/data"
        try ServerProcess.run(["rooms", "create", "--name", "Lobby", "--data", data])
        try ServerProcess.run(["retention", "set", "room_messages", "forever", "--data", data])
        let server = try ServerProcess(data: data)
        defer { server.terminate() }
        // More free disk asked for than any disk has; a port that speaks plain HTTP given as https.
        try write("""
            listen = "127.0.0.1:\(server.port)"
            data = "\(data)"

            [attachments]
            reserved_free_bytes = 1000000000000000000
            """, to: folder + "/haven.toml")
        let arguments = ["doctor", "--config", folder + "/haven.toml", "--keys", folder + "/keys", "--url", "https://127.0.0.1:\(server.port)"]
        let report = try ServerProcess.run(arguments).output
        #expect(report.contains("WARNING  room_messages are kept forever"), "\(report)")
        #expect(report.contains("PROBLEM  ") && report.contains("free for the data folder, under the"), "\(report)")
        #expect(report.contains("PROBLEM  https://127.0.0.1:\(server.port) cannot be reached over TLS"), "\(report)")
        #expect(report.contains("ok       the database's schema is this Haven's"), "\(report)")
        #expect(report.contains("WARNING  Haven listens on loopback but trusts no proxy"), "\(report)")
        try write("listen = \"127.0.0.1:\(server.port)\"\ndata = \"\(data)\"\ntrusted_proxies = [\"127.0.0.1\"]\n", to: folder + "/proxied.toml")
        let proxied = try ServerProcess.run(["doctor", "--config", folder + "/proxied.toml"]).output
        #expect(proxied.contains("WARNING  the proxy reaches Haven on 127.0.0.1:\(server.port): any user of this machine could take that port"), "\(proxied)")

        // A shell that may open few files, where prlimit can say so.
        if FileManager.default.isExecutableFile(atPath: "/usr/bin/prlimit") {
            let limited = try ServerProcess.run(["doctor", "--config", folder + "/haven.toml"], prefix: ["/usr/bin/prlimit", "--nofile=1000:1000"])
            #expect(limited.output.contains("WARNING  this shell may open only 1000 files"), "\(limited.output)")
        }

        // A database a newer Haven wrote.
        server.terminate()
        try SQLiteConnection(path: data + "/haven.sqlite").execute("PRAGMA user_version = 99")
        let newer = try ServerProcess.run(["doctor", "--config", folder + "/haven.toml"]).output
        #expect(newer.contains("PROBLEM  the database is schema 99, newer than this Haven"), "\(newer)")
    }

    @Test func rootIsToldWhatTheServiceCannotRead() throws {
        guard geteuid() == 0 else { return }
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let keys = KeyDirectory(path: folder + "/keys")
        var bytes = Array("a long enough passphrase".utf8)
        _ = try keys.initialise(passphrase: SecretBytes(consuming: &bytes), limits: .minimum)
        try ServerProcess.run(["rooms", "create", "--name", "Lobby", "--data", folder + "/data"])
        for path in [folder + "/data", folder + "/data/haven.sqlite", keys.path] { #expect(chown(path, 65534, 65534) == 0) }
        #expect(chmod(folder, 0o755) == 0)
        // Keys copied in by root, left root's: the service cannot sign its backups.
        let report = try ServerProcess.run(["doctor", "--data", folder + "/data", "--keys", keys.path, "--config", folder + "/none.toml"]).output
        #expect(report.contains("PROBLEM  \(keys.serverKeyPath) cannot be read by the service's user: backups fail"), "\(report)")
    }
}
