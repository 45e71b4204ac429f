import CFaultVFS
import Foundation
import HavenStore
import Testing

/// Power loss, not only a killed process: the store runs over a VFS that keeps every write in
/// memory until it is synced and, at a random write, cuts the power (every unsynced write in
/// every file is dropped, and the disk stops answering). What the store acknowledged must all be
/// there afterwards, in a database that passes `integrity_check`.
@Suite(.serialized) struct PowerLossTests {
    struct Outcome {
        var acknowledged: Set<[UInt8]> = []
        var survived: Set<[UInt8]> = []
        var integrity = ""
        var droppedBytes = 0
        /// Whether the database file itself had grown on disk before the cut (a checkpoint
        /// copied the WAL into it and synced it).
        var checkpointed = false
    }

    /// Writes messages in batches (group commits, as the server does), with a WAL checkpoint and
    /// truncation every 40 batches (as after a purge), until the power is cut at the `cutAt`th
    /// write; then opens the files again as they are on disk. With `envelopeBytes` large and no
    /// truncation (`truncateEvery` nil), the WAL passes 1,000 pages and the store's checkpoint
    /// thread copies it while the writer goes on.
    func run(synchronous: StoreSettings.Synchronous, cutAt: Int, envelopeBytes: Int = 300, truncateEvery: Int? = 40) throws -> Outcome {
        let directory = try TemporaryDirectory()
        let path = directory.path + "/haven.sqlite"
        #expect(haven_fault_vfs_register() == 0)
        haven_fault_vfs_reset()
        let store = try HavenStore(path: "file:\(path)?vfs=haven-fault", settings: StoreSettings(synchronous: synchronous))
        try store.performAndWait { _ = try $0.createRoom(id: "lobby", name: "Lobby", kind: "support", now: 0) }
        // The schema is on disk before the power can go (with NORMAL only a checkpoint syncs).
        try store.performAndWait(outsideTransaction: true) { try $0.reclaimSpace() }
        let schemaBytes = try FileManager.default.attributesOfItem(atPath: path)[.size] as? Int ?? 0
        haven_fault_vfs_arm(cutAt)
        let acknowledged = LockedSet()
        var batch = 0
        while haven_fault_vfs_power_lost() == 0 && batch < 1000 {
            let group = DispatchGroup()
            for index in 0..<25 {
                let id = Array("message \(batch)-\(index)".utf8)
                group.enter()
                store.perform({
                    try $0.appendRoomMessage(room: "lobby", sender: [1], messageID: id, epoch: 0, envelope: id + [UInt8](repeating: 0x61, count: envelopeBytes), now: 1)
                }) { result in
                    if case .success = result { acknowledged.insert(id) }
                    group.leave()
                }
            }
            group.wait()
            batch += 1
            if let truncateEvery, batch % truncateEvery == 0 {
                try? store.performAndWait(outsideTransaction: true) { try $0.reclaimSpace() }
            }
        }
        store.close()
        #expect(haven_fault_vfs_power_lost() != 0, "the power was never cut")
        let diskBytes = try FileManager.default.attributesOfItem(atPath: path)[.size] as? Int ?? 0
        var outcome = Outcome(acknowledged: acknowledged.values, droppedBytes: haven_fault_vfs_dropped_bytes(), checkpointed: diskBytes > schemaBytes)
        haven_fault_vfs_reset()
        // The machine comes back: the shared-memory index did not survive; SQLite rebuilds it.
        try? FileManager.default.removeItem(atPath: path + "-shm")
        let reopened = try SQLiteConnection(path: path)
        if case .text(let verdict)? = try reopened.prepare("PRAGMA integrity_check").query().first?.first { outcome.integrity = verdict }
        for row in try reopened.prepare("SELECT message_id FROM room_messages").query() {
            if case .blob(let id) = row[0] { outcome.survived.insert(id) }
        }
        return outcome
    }

    @Test func everyAcknowledgedMessageSurvivesAPowerCutAtAnyMoment() throws {
        var generator = SystemRandomNumberGenerator()
        var dropped = 0
        for trial in 0..<12 {
            let cutAt = Int.random(in: 5...2500, using: &generator)
            let outcome = try run(synchronous: .full, cutAt: cutAt)
            #expect(outcome.integrity == "ok", "trial \(trial), cut at write \(cutAt)")
            let lost = outcome.acknowledged.subtracting(outcome.survived)
            #expect(lost.isEmpty, "trial \(trial), cut at write \(cutAt): \(lost.count) of \(outcome.acknowledged.count) acknowledged messages lost")
            dropped += outcome.droppedBytes
            print("power loss (FULL): cut at write \(cutAt): \(outcome.acknowledged.count) acknowledged, \(outcome.survived.count) on disk, \(outcome.droppedBytes) unsynced bytes dropped")
        }
        #expect(dropped > 0, "no cut caught a write in flight")
    }

    /// The same, with the WAL left to grow, so the power goes while the checkpoint thread copies
    /// it into the database file (or between its copies).
    @Test func everyAcknowledgedMessageSurvivesAPowerCutWhileTheWALIsCopied() throws {
        var generator = SystemRandomNumberGenerator()
        var copiedBeforeACut = false
        for trial in 0..<6 {
            let cutAt = Int.random(in: 3_000...8_000, using: &generator)
            let outcome = try run(synchronous: .full, cutAt: cutAt, envelopeBytes: 3_000, truncateEvery: nil)
            #expect(outcome.integrity == "ok", "trial \(trial), cut at write \(cutAt)")
            let lost = outcome.acknowledged.subtracting(outcome.survived)
            #expect(lost.isEmpty, "trial \(trial), cut at write \(cutAt): \(lost.count) of \(outcome.acknowledged.count) acknowledged messages lost")
            copiedBeforeACut = copiedBeforeACut || outcome.checkpointed
            print("power loss (FULL, WAL copied by its thread): cut at write \(cutAt): \(outcome.acknowledged.count) acknowledged, \(outcome.survived.count) on disk, copied before the cut: \(outcome.checkpointed)")
        }
        #expect(copiedBeforeACut, "no trial cut the power after the checkpoint thread had copied the WAL")
    }

    /// The same cut with `synchronous = NORMAL`, which syncs the WAL only at checkpoints: here
    /// acknowledged messages do go, which shows the cut really drops what was not synced (and
    /// why FULL is the default).
    @Test func withoutASyncPerCommitAPowerCutTakesAcknowledgedMessages() throws {
        var lostAny = false
        for cutAt in [150, 300, 450] where !lostAny {
            let outcome = try run(synchronous: .normal, cutAt: cutAt)
            #expect(outcome.integrity == "ok")
            #expect(outcome.droppedBytes > 0, "the cut dropped nothing")
            lostAny = !outcome.acknowledged.subtracting(outcome.survived).isEmpty
            print("power loss (NORMAL): cut at write \(cutAt): \(outcome.acknowledged.count) acknowledged, \(outcome.survived.count) on disk")
        }
        #expect(lostAny, "no acknowledged message was lost without a sync per commit: the fault injection is not working")
    }
}

/// A set filled from the store's completion threads.
final class LockedSet: @unchecked Sendable {
    // @unchecked Sendable: `stored` is guarded by `lock`.
    private let lock = NSLock()
    private var stored: Set<[UInt8]> = []

    func insert(_ value: [UInt8]) { lock.withLock { _ = stored.insert(value) } }
    var values: Set<[UInt8]> { lock.withLock { stored } }
}
