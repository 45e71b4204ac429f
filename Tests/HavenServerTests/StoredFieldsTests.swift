import Foundation
import HavenClient
import HavenProtocol
import HavenStore
import HavenTestSupport
import Testing

/// What the server stores is exactly what docs/operations.md ("What the server stores", "Field by
/// field") says it stores: after a scripted session, every table and every column of the database
/// is listed there, and nothing listed there is gone.
@Suite struct StoredFieldsTests {
    /// The documented tables and their columns, read from docs/operations.md.
    func documentedFields() throws -> [String: Set<String>] {
        let docs = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("docs/operations.md")
        let text = try String(contentsOf: docs, encoding: .utf8)
        let section = try #require(text.range(of: "### Field by field")).upperBound
        var fields: [String: Set<String>] = [:]
        for line in text[section...].split(separator: "\n") where line.hasPrefix("| `") {
            let cells = line.split(separator: "|").map { $0.trimmingCharacters(in: .whitespaces) }
            let names = { (cell: String) in cell.split(separator: ",").map { $0.trimmingCharacters(in: CharacterSet(charactersIn: " `")) } }
            guard cells.count >= 2, let table = names(cells[0]).first else { continue }
            fields[table] = Set(names(cells[1]))
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
            let listed = documented[table] ?? []
            #expect(documented[table] != nil, "table \(table) is not in docs/operations.md, Field by field")
            #expect(columns.subtracting(listed).isEmpty, "\(table) holds \(columns.subtracting(listed).sorted()), which the docs do not list")
            #expect(listed.subtracting(columns).isEmpty, "the docs list \(table).\(listed.subtracting(columns).sorted()), which is gone")
        }
        #expect(Set(documented.keys).subtracting(found.keys).isEmpty, "the docs list tables that are gone: \(Set(documented.keys).subtracting(found.keys).sorted())")
        // The session did reach the tables it was meant to fill.
        for table in ["members", "room_members", "room_messages", "direct_messages", "room_log"] {
            #expect(try server.count("SELECT COUNT(*) FROM \(table)") > 0, "the scripted session left \(table) empty")
        }
    }
}
