import ArgumentParser
import HavenNet
import HavenStore
import Sodium

/// The one executable: runs the server and manages keys, invites, rooms and retention.
@main
struct Haven: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "haven",
        abstract: "Anonymous, end-to-end-encrypted support chat.",
        discussion: """
            One binary runs the server and manages the operator's keys, counsellor invites,
            rooms and retention. Run `haven help <subcommand>` for details of each.
            """,
        version: "haven \(havenVersion) (libsodium \(SodiumLibrary.version), SQLite \(SQLiteConnection.libraryVersion), libuv \(EventLoop.libraryVersion))",
        subcommands: [
            Serve.self, Keys.self, Invite.self, Staff.self, Widget.self, Rooms.self, Retention.self, Audit.self, Backup.self, Restore.self, Doctor.self,
            Chat.self, Bench.self,
        ]
    )
}

/// Haven's own release version.
let havenVersion = "0.1.0"
