import ArgumentParser
import Foundation
import HavenBackup
import HavenKeys
import HavenProtocol
import Sodium

/// `haven keys`: the organisation's signing key and the server's key.
struct Keys: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Create and inspect the organisation key and the server key.",
        discussion: """
            The organisation key signs counsellor and moderator invites. Its secret file
            (Keys/organisation.key, mode 0600) is encrypted with a key derived by Argon2id from your
            passphrase; keep the passphrase safe, since nothing can recover it. The server never needs
            the organisation's secret key, only its public key (Keys/organisation.pub).

            The passphrase is read from --passphrase-file, the HAVEN_PASSPHRASE environment variable,
            or asked for on the terminal.

            Exit codes: 0 on success, 1 when a key cannot be created or opened.
            """,
        subcommands: [Initialise.self, Show.self, ExportPublic.self, ChangePassphrase.self]
    )

    struct Location: ParsableArguments {
        @Option(help: "The keys folder.")
        var keys = InstalledFiles.defaultKeys
    }

    struct Initialise: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "init", abstract: "Create the organisation key (encrypted) and the server key.",
            discussion: "Example: haven keys init --keys /etc/haven/Keys")
        @OptionGroup var location: Location
        @Option(help: "Read the new passphrase from this file.")
        var passphraseFile: String?

        func run() throws {
            try reportingOperatorErrors {
                let passphrase = try Passphrase.read(file: passphraseFile, prompt: "New passphrase for the organisation key: ", confirm: true)
                try Passphrase.requireStrong(passphrase)
                let created = try KeyDirectory(path: location.keys).initialise(passphrase: passphrase)
                print("organisation public key: \(Base64URL.encode(created.organisation.bytes))")
                print("server public key:       \(Base64URL.encode(created.server.bytes))")
                print("written to \(location.keys) (secret files mode 0600; never commit them)")
            }
        }
    }

    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show the public keys and check the secret files.")
        @OptionGroup var location: Location
        @Option(help: "Also check the organisation key opens with the passphrase from this file.")
        var passphraseFile: String?
        @Flag(help: "Check the organisation key opens with the passphrase (asks for it).")
        var verify = false

        func run() throws {
            try reportingOperatorErrors {
                let keys = KeyDirectory(path: location.keys)
                let organisation = try keys.organisationPublicKey()
                print("organisation public key: \(Base64URL.encode(organisation.bytes))")
                print("organisation fingerprint: \(OrganisationAnchor.fingerprint(of: organisation))")
                print("server public key:       \(Base64URL.encode(try keys.serverKey().publicKey.bytes))")
                if verify || passphraseFile != nil {
                    let passphrase = try Passphrase.read(file: passphraseFile, prompt: "Passphrase for the organisation key: ")
                    let opened = try keys.organisationKey(passphrase: passphrase)
                    guard opened.publicKey == (try keys.organisationPublicKey()) else {
                        throw KeyFileError.corrupt(path: keys.organisationPublicKeyPath, reason: "does not match organisation.key")
                    }
                    print("organisation key opens with this passphrase and matches organisation.pub")
                }
            }
        }
    }

    struct ExportPublic: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "export-public", abstract: "Print the organisation's public key (for clients and the widget).")
        @OptionGroup var location: Location

        func run() throws {
            try reportingOperatorErrors {
                print(Base64URL.encode(try KeyDirectory(path: location.keys).organisationPublicKey().bytes))
            }
        }
    }

    struct ChangePassphrase: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "change-passphrase", abstract: "Re-encrypt the organisation key under a new passphrase.",
            discussion: "The current passphrase comes from --passphrase-file or HAVEN_PASSPHRASE or the terminal; the new one from --new-passphrase-file or HAVEN_NEW_PASSPHRASE or the terminal.")
        @OptionGroup var location: Location
        @Option(help: "Read the current passphrase from this file.")
        var passphraseFile: String?
        @Option(help: "Read the new passphrase from this file.")
        var newPassphraseFile: String?

        func run() throws {
            try reportingOperatorErrors {
                let old = try Passphrase.read(file: passphraseFile, prompt: "Current passphrase: ")
                let new = try Passphrase.read(
                    file: newPassphraseFile, environment: "HAVEN_NEW_PASSPHRASE", prompt: "New passphrase: ", confirm: true)
                try Passphrase.requireStrong(new)
                try KeyDirectory(path: location.keys).changePassphrase(from: old, to: new)
                print("the organisation key is now encrypted under the new passphrase")
            }
        }
    }
}

/// Prints an error an operator can act on (a key file's, a backup's) as one line on stderr and
/// exits with status 1.
func reportingOperatorErrors(_ body: () throws -> Void) throws {
    do {
        try body()
    } catch let error as KeyFileError {
        FileHandle.standardError.write(Data("error: \(error)\n".utf8))
        throw ExitCode.failure
    } catch let error as BackupError {
        FileHandle.standardError.write(Data("error: \(error)\n".utf8))
        throw ExitCode.failure
    }
}
