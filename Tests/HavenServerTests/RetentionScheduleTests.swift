import Foundation
import HavenClient
import HavenProtocol
import HavenServer
import HavenStore
import HavenTestSupport
import Testing

/// The server purges on its own schedule, tells clients each room's retention, and picks up
/// rooms the operator creates while it runs.
@Suite struct RetentionScheduleTests {
    let lobby = try! RoomID("lobby")

    @Test func scheduledPurgeRemovesExpiredMessagesWhileServing() async throws {
        let clock = Clock()
        let server = try TestServer {
            $0.retentionIntervalMilliseconds = 100
            $0.retentionBatch = 3
            $0.now = { clock.now }
            $0.rateLimits = .unlimited
        }
        let clients = try ClientLoop()
        let alice = try TestClient("Quiet Otter", loop: clients.loop)
        try await alice.connect(server)
        let joined = try await alice.client.join(lobby)
        #expect(joined.retentionSeconds == 30 * 86_400, "clients are told the room's retention")
        await alice.client.waitForKey(lobby)
        for index in 1...10 { _ = try await alice.client.send("old \(index)", to: lobby) }

        clock.advance(by: 31 * 86_400)
        _ = try await alice.client.send("new", to: lobby)
        let metrics = try await waitFor("the purge") { () -> String? in
            let text = try server.server.metricsText()
            return text.contains("haven_retention_purged_rows_total 1") ? text : nil
        }
        #expect(metrics.contains("haven_retention_purged_rows_total 10"))

        let reader = try TestClient("Reader", loop: clients.loop)
        try await reader.enter(server, room: lobby, replayHistory: true)
        #expect(try await reader.waitForTexts(1, in: lobby) == ["new"])
        try await Task.sleep(for: .milliseconds(200))
        #expect(reader.texts(in: lobby) == ["new"], "only the unexpired message is replayed")
    }

    @Test func roomsCreatedWhileRunningAreListedAndJoinable() async throws {
        let server = try TestServer { $0.roomReloadMilliseconds = 100 }
        let store = try HavenStore(path: server.databasePath)
        try store.performAndWait { database in
            try database.createRoom(id: "late-night", name: "Late night", kind: "support", now: 0)
            try database.setRoomRetention(room: "late-night", seconds: 7 * 86_400)
        }
        store.close()
        let clients = try ClientLoop()
        let alice = try TestClient("Quiet Otter", loop: clients.loop)
        try await alice.connect(server)
        let room = try RoomID("late-night")
        let joined = try await waitFor("the new room") { () -> Joined? in try? await alice.client.join(room) }
        #expect(joined.retentionSeconds == 7 * 86_400)
    }
}

/// A wall clock the test moves forward.
final class Clock: @unchecked Sendable {
    // @unchecked Sendable: `offset` is guarded by `lock`.
    private let lock = NSLock()
    private var offset: Int64 = 0
    var now: Int64 { lock.withLock { Int64(Date().timeIntervalSince1970) + offset } }
    func advance(by seconds: Int64) { lock.withLock { offset += seconds } }
}
