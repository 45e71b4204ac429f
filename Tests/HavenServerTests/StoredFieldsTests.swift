import Foundation
import HavenClient
import HavenProtocol
import HavenStore
import HavenTestSupport
import Sodium
import Testing

/// What the server stores is exactly what docs/operations.md ("What the server stores", "Field by
/// field") says it stores: after a scripted session, every table and every column of the database
/// is listed there, nothing listed there is gone, times are at the precision listed, and no stored
/// private message carries its sender.
@Suite struct StoredFieldsTests {
    /// One documented table: its columns, and those of its times kept to the hour.
    struct Documented {
        var columns: Set<String>
        var toTheHour: Set<String>
    }

    /// The documented tables, read from docs/operations.md.
    func documentedFields() throws -> [String: Documented] {
        let docs = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("docs/operations.md")
        let text = try String(contentsOf: docs, encoding: .utf8)
        let section = try #require(text.range(of: "### Field by field")).upperBound
        var fields: [String: Documented] = [:]
        for line in text[section...].split(separator: "\n") where line.hasPrefix("| `") {
            let cells = line.split(separator: "|", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
            let names = { (cell: String) in cell.split(separator: ",").map { $0.trimmingCharacters(in: CharacterSet(charactersIn: " `")) } }
            guard cells.count >= 5, let table = names(cells[1]).first else { continue }
            let hourly = cells[4].components(separatedBy: " to the hour").dropLast().compactMap { $0.split(separator: "`").last.map(String.init) }
            fields[table] = Documented(columns: Set(names(cells[2])), toTheHour: Set(hourly))
        }
        return fields
    }

    @Test func theDatabaseHoldsOnlyWhatTheDocsList() async throws {
        let server = try TestServer()
        let loop = try ClientLoop()
        let lobby = try RoomID("lobby")
        let alice = try TestClient("Quiet Otter", loop: loop.loop)
        let bob = try TestClient("Calm Heron", loop: loop.loop)
        try await alice.enter(server, room: lobby)
        try await bob.enter(server, room: lobby)
        _ = try await alice.client.send("hello, room", to: lobby)
        _ = try await alice.client.sendDirect("hello, Bob", to: bob.member)
        _ = try await bob.log.wait("the private message") { events in
            events.contains { if case .directMessage(_, _) = $0 { true } else { false } } ? true : nil
        }
        #expect(try await server.upload(randomBytes: 1000, as: alice).status == 201)

        let database = try SQLiteConnection(path: server.databasePath)
        func names(_ query: String) throws -> [String] {
            try database.prepare(query).query().compactMap { if case .text(let name)? = $0.first { name } else { nil } }
        }
        var found: [String: Set<String>] = [:]
        for table in try names("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name") {
            found[table] = Set(try names("SELECT name FROM pragma_table_info('\(table)')"))
        }
        let documented = try documentedFields()
        for (table, columns) in found.sorted(by: { $0.key < $1.key }) {
            let listed = documented[table]?.columns ?? []
            #expect(documented[table] != nil, "table \(table) is not in docs/operations.md, Field by field")
            #expect(columns.subtracting(listed).isEmpty, "\(table) holds \(columns.subtracting(listed).sorted()), which the docs do not list")
            #expect(listed.subtracting(columns).isEmpty, "the docs list \(table).\(listed.subtracting(columns).sorted()), which is gone")
        }
        #expect(Set(documented.keys).subtracting(found.keys).isEmpty, "the docs list tables that are gone: \(Set(documented.keys).subtracting(found.keys).sorted())")
        // The session did reach the tables it was meant to fill.
        for table in ["members", "room_members", "room_messages", "direct_messages", "room_log", "key_bundles", "blobs"] {
            #expect(try server.count("SELECT COUNT(*) FROM \(table)") > 0, "the scripted session left \(table) empty")
        }
        let hourly = documented.flatMap { table, fields in fields.toTheHour.map { (table, $0) } }
        #expect(hourly.count == 7, "the docs name the times kept to the hour")
        for (table, column) in hourly {
            #expect(try server.count("SELECT COUNT(*) FROM \(table) WHERE \(column) % \(StoredTime.precision) != 0") == 0,
                    "\(table).\(column) holds times finer than the hour")
        }
        let stored = try database.prepare("SELECT message FROM direct_messages").query().map { row -> [UInt8] in
            if case .blob(let bytes)? = row.first { bytes } else { [] }
        }
        let aliceKey = Base64URL.encode(alice.member.bytes)
        for message in stored {
            #expect(String(decoding: message, as: UTF8.self).range(of: aliceKey) == nil, "a stored private message names its sender")
            #expect(message.firstRange(of: alice.member.bytes) == nil)
        }
    }
}
