import ArgumentParser
import Foundation
import HavenProtocol
import HavenStore

/// `haven rooms`: create, list, archive and delete rooms.
struct Rooms: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Create, list, archive and delete rooms.",
        discussion: """
            Support rooms are open to every member; private rooms are open by staff invitation.
            A running server picks up changes within a few seconds.
            """,
        subcommands: [Create.self, List.self, Archive.self, Delete.self]
    )

    enum Kind: String, ExpressibleByArgument, CaseIterable {
        case support, `private`
    }

    struct Create: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create a room.",
            discussion: """
                Examples:
                  haven rooms create --name "Night owls" --kind support
                  haven rooms create --name "Grief group" --id grief --kind private --retention 7d
                """)
        @OptionGroup var location: DataLocation
        @Option(help: "The display name.")
        var name: String
        @Option(help: "The id (a-z 0-9 _ -); derived from the name if omitted.")
        var id: String?
        @Option(help: "support (open) or private (by invitation).")
        var kind: Kind = .support
        @Option(help: "How long messages are kept: 30d, 72h, forever... (default: the room-message default).")
        var retention: RetentionPeriod?
        @Option(help: "Move the room to a new key on this schedule, e.g. 7d (default: only on removals and bans).")
        var rotate: RetentionPeriod?

        func run() throws {
            let roomID: RoomID
            do {
                roomID = try RoomID(id ?? Self.slug(name))
            } catch {
                throw ValidationError("\(error) (give one with --id)")
            }
            let name = name, kind = kind.rawValue, retention = retention, rotation = rotate?.seconds
            let now = Int64(Date().timeIntervalSince1970)
            let created = try withStore(location, creating: true) { store in
                try store.performAndWait { database -> Bool in
                    guard try database.createRoom(id: roomID.value, name: name, kind: kind, now: now) else { return false }
                    if let retention { try database.setRoomRetention(room: roomID.value, seconds: retention.seconds) }
                    if let rotation { try database.setRotation(room: roomID.value, seconds: rotation, now: now) }
                    return true
                }
            }
            guard created else { throw ValidationError("a room with the id \(roomID) already exists") }
            print("created \(kind) room \(roomID) (\"\(name)\")" + (retention.map { ", messages kept \($0)" } ?? "")
                + (rotate.map { ", new key every \($0)" } ?? ""))
        }

        static func slug(_ name: String) -> String {
            let allowed = Set("abcdefghijklmnopqrstuvwxyz0123456789")
            let words = name.lowercased().split { !allowed.contains($0) }
            return String(words.joined(separator: "-").prefix(64))
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the rooms.")
        @OptionGroup var location: DataLocation
        @Flag(help: "Print JSON for scripts.")
        var json = false

        func run() throws {
            let (rooms, policy) = try withStore(location) { store in
                try store.performAndWait { (try $0.rooms(), try $0.retentionPolicy()) }
            }
            if json {
                let objects: [[String: Any]] = rooms.map {
                    ["id": $0.id, "name": $0.name, "kind": $0.kind, "archived": $0.isArchived, "epoch": $0.currentEpoch,
                     "retention_seconds": $0.retentionSeconds(under: policy) as Any]
                }
                print(String(decoding: try JSONSerialization.data(withJSONObject: objects, options: [.sortedKeys]), as: UTF8.self))
                return
            }
            for room in rooms {
                let retention = room.retentionSeconds(under: policy).map(RetentionPeriod.describe) ?? "forever"
                print("\(room.id)\t\(room.kind)\t\(room.isArchived ? "archived" : "open")\tkept \(retention)\t\(room.name)")
            }
        }
    }

    struct Archive: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Archive a room: hidden and closed to posts; its messages stay until retention removes them.")
        @OptionGroup var location: DataLocation
        @Argument(help: "The room id.")
        var id: String

        func run() throws {
            let id = id
            let now = Int64(Date().timeIntervalSince1970)
            try withStore(location) { store in try store.performAndWait { try $0.archiveRoom(id, now: now) } }
            print("archived \(id)")
        }
    }

    struct Delete: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Delete a room and everything in it: messages, members, keys, its log, reports and moderation records.",
            discussion: """
                The rows are overwritten in the database and the WAL is truncated, so nothing of the
                room is left on disk. A running server drops the room within a few seconds. A room
                listed in the server's configuration is created again, empty, at its next start.
                """)
        @OptionGroup var location: DataLocation
        @Argument(help: "The room id.")
        var id: String
        @Flag(help: "Confirm: this cannot be undone.")
        var yes = false

        func run() throws {
            let id = id
            guard yes else {
                throw ValidationError("this deletes room \(id) and everything in it, and cannot be undone; run again with --yes")
            }
            let wiped = try withStore(location) { store in
                try store.performAndWait { try $0.deleteRoom(id) }
                return (try? store.performAndWait(outsideTransaction: true) { try $0.reclaimSpace() }) != nil
            }
            print("deleted \(id) and everything in it")
            if !wiped {
                FileHandle.standardError.write(Data("note: the server was reading; it wipes the WAL at its next retention pass (within a minute)\n".utf8))
            }
        }
    }
}
