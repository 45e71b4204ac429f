import Foundation
import HavenStore
public import Sodium

/// What a restore would put in place, shown to the operator before it does: who signed the
/// backup and when, and what the database holds once expired data is purged.
public struct RestoreSummary: Sendable, Equatable, CustomStringConvertible {
    /// When the backup says it was made (Unix seconds), as signed.
    public let madeAt: Int64
    /// The server key that signed it.
    public let signer: SigningPublicKey
    /// The schema version the backup was written with.
    public let schema: Int
    /// The rooms' names.
    public let rooms: [String]
    /// Room messages and private messages kept.
    public let roomMessages: Int
    public let directMessages: Int
    /// Staff members and open invites.
    public let staff: Int
    public let invites: Int
    /// The longest retention period, in seconds (0: nothing is kept for long).
    public let longestRetentionSeconds: Int64

    /// Reads the figures from the checked, purged database at `path`.
    init(of path: String, signed: SealedBackup.Signed, schema: Int, longestRetention: Int64) throws {
        let connection = try SQLiteConnection(path: path)
        func count(_ table: String) throws -> Int {
            guard case .integer(let value)? = try connection.prepare("SELECT COUNT(*) FROM \(table)").query().first?.first else { return 0 }
            return Int(value)
        }
        madeAt = signed.madeAt
        signer = signed.signer
        self.schema = schema
        rooms = try connection.prepare("SELECT name FROM rooms ORDER BY name").query().compactMap {
            if case .text(let name)? = $0.first { return name } else { return nil }
        }
        roomMessages = try count("room_messages")
        directMessages = try count("direct_messages")
        staff = try count("staff")
        invites = try count("invites")
        longestRetentionSeconds = longestRetention
    }

    public var description: String {
        let made = Date(timeIntervalSince1970: TimeInterval(madeAt)).formatted(.iso8601)
        let days = longestRetentionSeconds / 86_400
        return """
            made at:       \(made), signed by server key \(Base64URL.encode(signer.bytes))
            schema:        \(schema)\(schema < HavenStore.schemaVersion ? " (migrated to \(HavenStore.schemaVersion))" : "")
            rooms:         \(rooms.count): \(rooms.joined(separator: ", "))
            messages:      \(roomMessages) in rooms, \(directMessages) private (what expired is purged)
            staff:         \(staff), with \(invites) invites
            kept at most:  \(days) days (the longest retention period)
            """
    }
}
