import Foundation
import HavenClient
import HavenProtocol
import HavenServer
import HavenStore
import HavenTestSupport
import Sodium
import Testing

/// The server end to end on a PostgreSQL store, as on SQLite.
@Suite struct PostgresServerTests {
    let lobby = try! RoomID("lobby")

    @Test func membersTalkInARoomAndPrivatelyAndWhatTheySaidOutlivesTheServer() async throws {
        let database = try freshStoreLocation(.postgres, folder: "")
        let clients = try ClientLoop()
        let alice = try TestClient("Quiet Otter", loop: clients.loop)
        let bob = try TestClient("Calm Heron", loop: clients.loop)
        do {
            let server = try TestServer { $0.database = database }
            try await alice.enter(server, room: lobby)
            try await bob.enter(server, room: lobby)
            await bob.client.waitForKey(lobby)
            _ = try await alice.client.send("is anyone awake?", to: lobby)
            _ = try await bob.client.sendDirect("I am, want to talk here?", to: alice.member)
            #expect(try await bob.waitForTexts(1, in: lobby) == ["is anyone awake?"])
            #expect(try await alice.waitForDirectTexts(1) == ["I am, want to talk here?"])
            server.stop()
        }
        // The next server on the same database has every room message and private message.
        let next = try TestServer { $0.database = database }
        let store = try HavenStore(database)
        defer { store.close() }
        let (room, direct) = try store.performAndWait { database in
            (try database.roomMessages(room: "lobby", after: 0, limit: 10).count, try database.directMessages(recipient: alice.member.bytes, after: 0, limit: 10).count)
        }
        #expect(room == 1 && direct == 1)
        let carol = try TestClient("Gentle Fox", loop: clients.loop)
        try await carol.enter(next, room: lobby)
        #expect(try next.server.metricsText().contains("haven_connections 1"), "the next server serves on the same database")
    }

    @Test func aPostgreSQLRestartRefusesWritesMeanwhileAndLosesNothingAcknowledged() async throws {
        let postgres = try TestPostgres()
        let database = try postgres.freshDatabase()
        let server = try TestServer { $0.database = database }
        let clients = try ClientLoop()
        let alice = try TestClient("Quiet Otter", loop: clients.loop)
        let bob = try TestClient("Calm Heron", loop: clients.loop)
        try await alice.connect(server)
        try await bob.connect(server)
        _ = try await alice.client.sendDirect("before", to: bob.member)
        try postgres.stop()
        // Refused with a clear error, and the connection goes on.
        await #expect(throws: ClientError.refused(code: "store_failed", message: "message not stored; send it again")) {
            _ = try await alice.client.sendDirect("while the database restarts", to: bob.member)
        }
        try postgres.start()
        _ = try await alice.client.sendDirect("after", to: bob.member)
        #expect(try await bob.waitForDirectTexts(2) == ["before", "after"])
        let store = try HavenStore(database)
        defer { store.close() }
        let stored = try store.performAndWait { try $0.directMessages(recipient: bob.member.bytes, after: 0, limit: 10) }
        #expect(stored.count == 2, "the acknowledged messages are stored, the refused one is not")
    }
}
