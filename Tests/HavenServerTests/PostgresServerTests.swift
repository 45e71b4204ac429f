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
}
