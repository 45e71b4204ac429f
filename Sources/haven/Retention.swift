import ArgumentParser
import Foundation
import HavenStore

/// `haven retention`: how long each kind of data is kept, and purging what has expired.
struct Retention: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show and set retention periods, and purge expired data.",
        discussion: """
            Kinds: \(RetentionKind.allCases.map(\.rawValue).joined(separator: ", ")).
            The server purges on a schedule; `run` purges now. Deleted data is overwritten in the
            database (secure_delete), the WAL is truncated and free pages are returned to the file system.
            """,
        subcommands: [Show.self, Set.self, Run.self]
    )

    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show the periods in force.")
        @OptionGroup var location: DataLocation
        @Flag(help: "Print JSON for scripts.")
        var json = false

        func run() throws {
            let (policy, rooms) = try withStore(location) { store in try store.performAndWait { (try $0.retentionPolicy(), try $0.rooms()) } }
            if json {
                var object: [String: Any] = [:]
                for kind in RetentionKind.allCases { object[kind.rawValue] = policy.seconds(for: kind) as Any }
                object["rooms"] = Dictionary(uniqueKeysWithValues: rooms.map { ($0.id, $0.retentionSeconds(under: policy) as Any) })
                print(String(decoding: try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]), as: UTF8.self))
                return
            }
            for kind in RetentionKind.allCases {
                print("\(kind.rawValue)\t\(policy.seconds(for: kind).map(RetentionPeriod.describe) ?? "forever")")
            }
            for room in rooms where room.ownRetentionSeconds != nil {
                print("room \(room.id)\t\(room.retentionSeconds(under: policy).map(RetentionPeriod.describe) ?? "forever")")
            }
        }
    }

    struct Set: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Set a period for a kind, or for one room's messages.",
            discussion: """
                Examples:
                  haven retention set direct_messages 14d
                  haven retention set --room lobby 72h
                  haven retention set --room lobby default
                """)
        @OptionGroup var location: DataLocation
        @Option(help: "Set one room's message retention instead of a kind's.")
        var room: String?
        @Argument(help: "KIND PERIOD, or with --room only PERIOD (30d, 72h, forever; with --room also 'default').")
        var values: [String] = []

        func run() throws {
            let room = room
            if let room {
                guard values.count == 1, let period = values.first else { throw ValidationError("with --room, give only the period") }
                let reset = period == "default"
                guard reset || RetentionPeriod(argument: period) != nil else { throw ValidationError("\(period) is not a period like 30d or forever") }
                let seconds = RetentionPeriod(argument: period)?.seconds
                try withStore(location) { store in try store.performAndWait { try $0.setRoomRetention(room: room, seconds: seconds, reset: reset) } }
                print("room \(room): messages kept \(reset ? "for the default period" : RetentionPeriod(argument: period)!.description)")
                return
            }
            guard values.count == 2, let retentionKind = RetentionKind(rawValue: values[0]) else {
                throw ValidationError("name a kind: \(RetentionKind.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            guard let value = RetentionPeriod(argument: values[1]) else { throw ValidationError("\(values[1]) is not a period like 30d or forever") }
            try withStore(location) { store in try store.performAndWait { try $0.setRetention(retentionKind, seconds: value.seconds) } }
            print("\(retentionKind.rawValue): kept \(value)")
        }
    }

    struct Run: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Purge expired data now (or count it with --dry-run).")
        @OptionGroup var location: DataLocation
        @Flag(help: "Count what would be deleted, and delete nothing.")
        var dryRun = false

        func run() throws {
            let now = Int64(Date().timeIntervalSince1970)
            let dryRun = dryRun
            let report = try withStore(location) { store -> PurgeReport in
                var total = PurgeReport()
                repeat {
                    total.add(try store.performAndWait { try $0.purgeExpired(now: now, limit: 500, dryRun: dryRun) })
                } while total.hasMore && !dryRun
                if !dryRun && total.total > 0 { try store.performAndWait(outsideTransaction: true) { try $0.reclaimSpace() } }
                return total
            }
            for kind in RetentionKind.allCases where report.deleted[kind] != nil {
                print("\(kind.rawValue)\t\(report.deleted[kind]!)")
            }
            print(dryRun ? "would delete \(report.total) rows" + (report.hasMore ? " (at least)" : "") : "deleted \(report.total) rows")
        }
    }
}
