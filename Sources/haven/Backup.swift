import ArgumentParser
import Foundation
import HavenBackup
import HavenKeys
import Sodium

/// `haven backup`: sealed snapshots of the database that honour retention.
struct Backup: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Back up the database, sealed to a backup key the server does not hold.",
        discussion: """
            A backup is a consistent snapshot of the database (the server may keep running), from
            which everything past its retention period is purged, encrypted to the backup key's
            public key: the server, and anyone who takes it, cannot read its own backups. Each is
            named for the time it was made; making one deletes the folder's backups older than the
            longest retention period, so nothing deleted outlives its period in a backup. Each is
            signed with the server's own key (server.key), so a restore takes only what this
            server made, not a database anyone else sealed to the public key.

            First, on a machine other than the server:  haven backup keygen --keys ./backup-keys
            Copy backup-keys/backup.pub to the server's keys folder; keep backup.key and its
            passphrase away from the server. Then, on the server (daily, from a timer):
              haven backup --data /var/lib/haven --keys /etc/haven/Keys --out /var/backups/haven
            Restore with `haven restore`.

            Exit codes: 0 on success, 1 when the backup cannot be made.
            """,
        subcommands: [Make.self, KeyGen.self, List.self],
        defaultSubcommand: Make.self
    )

    struct Make: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Make a backup now and delete those past the longest retention period.",
            discussion: "Example: haven backup make --data /var/lib/haven --keys /etc/haven/Keys --out /var/backups/haven")
        @OptionGroup var location: DataLocation
        @Option(help: "The keys folder holding backup.pub and server.key.")
        var keys = InstalledFiles.defaultKeys
        @Option(help: "The folder backups are written to (created 0700).")
        var out: String

        func run() throws {
            try DataFolderOwner.become(ownerOf: location.data)
            try reportingOperatorErrors {
                let directory = KeyDirectory(path: keys)
                let outcome = try BackupFolder(path: out).make(
                    from: location.data + "/haven.sqlite", sealedTo: try directory.backupPublicKey(), signedBy: try directory.serverKey(),
                    now: Int64(Date().timeIntervalSince1970))
                print("backup written: \(outcome.made.path)")
                for old in outcome.deleted { print("deleted (past the longest retention period): \(old.path)") }
            }
        }
    }

    struct KeyGen: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "keygen", abstract: "Create the backup key (encrypted) and its public key.",
            discussion: """
                Run it away from the server. backup.key is encrypted under a passphrase (from
                --passphrase-file, HAVEN_PASSPHRASE, or the terminal); only backup.pub goes to the server.
                Example: haven backup keygen --keys ./backup-keys
                """)
        @Option(help: "The folder to write backup.key and backup.pub to.")
        var keys = "./backup-keys"
        @Option(help: "Read the new passphrase from this file.")
        var passphraseFile: String?

        func run() throws {
            try reportingOperatorErrors {
                let passphrase = try Passphrase.read(file: passphraseFile, prompt: "New passphrase for the backup key: ", confirm: true)
                try Passphrase.requireStrong(passphrase)
                let directory = KeyDirectory(path: keys)
                let publicKey = try directory.createBackupKey(passphrase: passphrase)
                print("backup public key: \(Base64URL.encode(publicKey.bytes))")
                print("written to \(directory.backupKeyPath) (keep it, and its passphrase, away from the server)")
                print("and \(directory.backupPublicKeyPath) (copy it to the server's keys folder)")
            }
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the backups in a folder, oldest first.")
        @Option(help: "The backups folder.")
        var out: String

        func run() throws {
            try reportingOperatorErrors {
                for backup in try BackupFolder(path: out).backups() {
                    let made = Date(timeIntervalSince1970: TimeInterval(backup.madeAt))
                    print("\(made.formatted(.iso8601))\t\(backup.path)")
                }
            }
        }
    }
}

/// `haven restore`: a backup back into a data folder.
struct Restore: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Restore a backup into a data folder (stop the server first).",
        discussion: """
            Opens the backup with the backup key (its passphrase from --passphrase-file,
            HAVEN_PASSPHRASE, or the terminal), checks it (every part authenticated, signed by the
            server's key, SQLite's integrity check, a schema that is this Haven's own), migrates it
            if it is older, purges everything past its retention period as of now, shows what it
            holds and asks before it puts it in place (--yes: without asking).

            The server key it must be signed by is server.key's in --server-keys (on the server
            itself), or --signed-by (the "server public key" `haven keys show` printed on the old
            server: keep it with the backup key).

            Example: haven restore /var/backups/haven/haven-backup-20261126T030000Z.sealed \
                       --keys ./backup-keys --data /var/lib/haven --replace

            Exit codes: 0 on success, 1 when the backup cannot be opened or restored, or the
            restore was not confirmed.
            """)
    @Argument(help: "The backup file.")
    var backup: String
    @OptionGroup var location: DataLocation
    @Option(help: "The folder holding backup.key.")
    var keys = "./backup-keys"
    @Option(help: "Read the backup key's passphrase from this file.")
    var passphraseFile: String?
    @Option(help: "The keys folder of the server that made the backup (its server.key).")
    var serverKeys = InstalledFiles.defaultKeys
    @Option(parsing: .unconditional, help: "The server public key (base64url, which may begin with \"-\") the backup must be signed by, instead of --server-keys'.")
    var signedBy: String?
    @Flag(help: "Replace the database already in the data folder.")
    var replace = false
    @Flag(help: "Put the backup in place without asking.")
    var yes = false

    func run() throws {
        try reportingOperatorErrors {
            // Everything that can be said before the passphrase is asked for, is.
            let server = try expectedSigner()
            _ = try BackupFolder.serverStopped(location.data)
            guard replace || !FileManager.default.fileExists(atPath: location.data + "/haven.sqlite") else {
                throw BackupError.databaseExists(path: location.data + "/haven.sqlite")
            }
            let directory = KeyDirectory(path: keys)
            guard FileManager.default.fileExists(atPath: directory.backupKeyPath) else {
                throw BackupError.keyMissing("no \(directory.backupKeyPath): a restore needs the backup.key the backups were sealed to "
                    + "(made with `haven backup keygen`, kept off the server); give its folder with --keys. A new key cannot open old backups.")
            }
            let passphrase = try Passphrase.read(file: passphraseFile, prompt: "Passphrase for the backup key: ")
            let keyPair = try directory.backupKeyPair(passphrase: passphrase)
            let yes = yes
            // Ctrl-C at the question must not leave the database in the clear behind.
            let interruptions = [SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGALRM].map { (number: Int32) in
                signal(number, SIG_IGN)
                let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
                source.setEventHandler {
                    BackupFolder.removeScratchFolders()
                    FileHandle.standardError.write(Data("\nnot restored: interrupted\n".utf8))
                    Foundation.exit(130)
                }
                source.resume()
                return source
            }
            defer { interruptions.forEach { $0.cancel() } }
            try BackupFolder.restore(backup, with: keyPair, signedBy: server, into: location.data, now: Int64(Date().timeIntervalSince1970),
                                     replace: replace) { summary in
                print("The backup holds:\n\(summary)")
                guard !yes else { return true }
                guard isatty(STDIN_FILENO) == 1 else {
                    FileHandle.standardError.write(Data("not restored: confirm at a terminal, or pass --yes\n".utf8))
                    return false
                }
                print("Put it in place as \(location.data)/haven.sqlite? [y/N] ", terminator: "")
                return ["y", "yes"].contains(readLine()?.lowercased() ?? "")
            }
            print("restored into \(location.data)/haven.sqlite (expired data purged); start the server")
        }
    }

    /// The server key the backup must be signed by.
    private func expectedSigner() throws -> SigningPublicKey {
        if let signedBy {
            guard let bytes = try? Base64URL.decode(signedBy), let key = try? SigningPublicKey(bytes: bytes) else {
                throw BackupError.keyMissing("--signed-by is not a base64url Ed25519 public key (`haven keys show` prints it as \"server public key\")")
            }
            return key
        }
        let directory = KeyDirectory(path: serverKeys)
        guard FileManager.default.fileExists(atPath: directory.serverKeyPath) else {
            throw BackupError.keyMissing("no \(directory.serverKeyPath) to check the backup's signature with: pass --signed-by with the server public key of the server that made it (`haven keys show` printed it there)")
        }
        return try directory.serverKey().publicKey
    }
}
