import Foundation
import HavenClient
import HavenNet
import HavenProtocol
import HavenStore
import Sodium

/// Measures what a newcomer pays to join a room with a long log: a server whose database holds
/// two rooms of `entries` log entries each (a first epoch, then members joining and leaving),
/// one with no later checkpoint (the newcomer verifies every entry) and one whose last entry is
/// a new epoch (the newcomer starts from that checkpoint). A real ``HavenClient`` joins each.
struct LogJoinPhase {
    /// The run's configuration: the server to start and the entries in each log
    /// (``BenchConfiguration/logEntries``).
    let configuration: BenchConfiguration
    private var entries: Int { configuration.logEntries }

    private static let longRoom = try! RoomID("log-long")
    private static let checkpointedRoom = try! RoomID("log-checkpointed")

    func run() throws -> [String: Any] {
        let author = try SigningKeyPair.generate()
        let visitors = try (0..<50).map { _ in try SigningKeyPair.generate() }
        let built = Date()
        let server = try ServerUnderTest(configuration) { data in
            let store = try HavenStore(configuration.serverStore.map(StoreLocation.init) ?? .sqlite(path: data + "/haven.sqlite"))
            defer { store.close() }
            for (room, checkpointed) in [(Self.longRoom, false), (Self.checkpointedRoom, true)] {
                let stored = try Self.log(room, entries: entries, author: author, visitors: visitors, checkpointAtEnd: checkpointed)
                try store.performAndWait { database in
                    _ = try database.createRoom(id: room.value, name: room.value, kind: "support", now: 0)
                    for (entry, bytes) in stored {
                        try database.appendRoomLog(
                            room: room.value, seq: Int64(entry.seq), kind: entry.kind.rawValue, entry: bytes,
                            epoch: entry.epoch.map { Int64($0) }, now: 0)
                    }
                }
            }
        }
        defer { server.stop() }
        let preparation = Date().timeIntervalSince(built)
        let loop = try EventLoop()
        loop.start()
        defer { loop.shutdown() }
        var result: [String: Any] = ["entries": entries, "preparation_s": (preparation * 10).rounded() / 10]
        for (room, name) in [(Self.longRoom, "no_checkpoint"), (Self.checkpointedRoom, "checkpoint_at_end")] {
            result[name] = try measureJoin(room, port: server.port, loop: loop)
        }
        return result
    }

    /// Milliseconds from `join` to the log verified and the replay done, and to holding a key.
    private func measureJoin(_ room: RoomID, port: Int, loop: EventLoop) throws -> [String: Any] {
        let client = HavenClient(identity: try SigningKeyPair.generate(), displayName: "Newcomer", loop: loop)
        let timings = Locked<[String: Any]>([:])
        let done = DispatchSemaphore(value: 0)
        Task {
            defer { done.signal() }
            do {
                try await client.connect(host: "127.0.0.1", port: port)
                let start = Date()
                _ = try await client.join(room)
                let joined = Date().timeIntervalSince(start)
                await client.waitForKey(room)
                let ready = Date().timeIntervalSince(start)
                let verified = await client.log(of: room)?.length ?? 0
                timings.withLock { $0 = ["joined_ms": Int(joined * 1000), "ready_to_send_ms": Int(ready * 1000), "log_length": verified] }
                await client.disconnect()
            } catch {
                timings.withLock { $0 = ["error": "\(error)"] }
            }
        }
        guard done.wait(timeout: .now() + 120) == .success else { throw BenchError("joining \(room) did not finish in 120 s") }
        return timings.withLock { $0 }
    }

    /// A first epoch by `author`, then visitors joining and leaving in turn, to `entries` entries;
    /// with `checkpointAtEnd` the last entry is a new epoch.
    private static func log(
        _ room: RoomID, entries: Int, author: SigningKeyPair, visitors: [SigningKeyPair], checkpointAtEnd: Bool
    ) throws -> [(RoomLogEntry, [UInt8])] {
        var log = RoomLog(room: room, organisation: nil)
        var written: [(RoomLogEntry, [UInt8])] = []
        func append(_ entry: RoomLogEntry) throws {
            try log.append(entry)
            written.append((entry, FrameCodec.encodeValue(entry)))
        }
        func epoch(_ number: UInt64, reason: String) throws -> RoomLogEntry {
            let key = try EpochKey.generate(room: room, epoch: number)
            let members = log.length == 0 ? [MemberID(author.publicKey)] : Array(log.members)
            return RoomLogEntry(
                room: room, seq: log.length, previous: log.head, kind: .epoch, author: MemberID(author.publicKey), epoch: number,
                commitment: key.commitment, reason: reason, mode: .open, members: members, excluded: []
            ).signed(by: author)
        }
        try append(try epoch(0, reason: "first"))
        var turn = 0
        while log.length < entries - (checkpointAtEnd ? 1 : 0) {
            let visitor = visitors[turn % visitors.count]
            let kind: RoomLogKind = log.members.contains(MemberID(visitor.publicKey)) ? .leave : .join
            try append(RoomLogEntry(room: room, seq: log.length, previous: log.head, kind: kind, author: MemberID(visitor.publicKey))
                .signed(by: visitor))
            if kind == .leave { turn += 1 }
        }
        if checkpointAtEnd { try append(try epoch(1, reason: "schedule")) }
        return written
    }
}
