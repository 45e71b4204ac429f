import Foundation
import HavenStore
import HavenTestSupport
import Testing

@Suite struct RetentionTests {
    let directory: TemporaryDirectory
    var path: String { directory.path + "/haven.sqlite" }
    let day: Int64 = 86_400

    init() throws { directory = try TemporaryDirectory() }

    /// Every byte of the database file and its WAL: free pages included.
    func rawBytes() -> Data {
        [path, path + "-wal"].compactMap { FileManager.default.contents(atPath: $0) }.reduce(Data(), +)
    }

    @Test func expiredMessagesAreGoneFromTheFileItsWALAndItsFreePages() throws {
        let store = try HavenStore(path: path)
        let expired = "EXPIRED-MARKER-\(UUID().uuidString)"
        let kept = "KEPT-MARKER-\(UUID().uuidString)"
        let keptDirect = "KEPT-DIRECT-\(UUID().uuidString)"
        let day = day
        try store.performAndWait { database in
            try database.createRoom(id: "lobby", name: "Lobby", kind: "support", now: 0)
            // Stored first, by a clock that ran a year ahead: it must not hold back the purge of
            // what was stored after it.
            _ = try database.appendDirectMessage(recipient: [3], messageID: [9], message: Array(keptDirect.utf8), now: 400 * day)
            for index in 0..<300 {
                let envelope = Array("\(expired) \(index) \(String(repeating: "x", count: 200))".utf8)
                _ = try database.appendRoomMessage(room: "lobby", sender: [1], messageID: Array("e\(index)".utf8), epoch: 0, envelope: envelope, now: 1)
                _ = try database.appendDirectMessage(recipient: [2], messageID: Array("d\(index)".utf8), message: envelope, now: 1)
            }
            _ = try database.appendRoomMessage(room: "lobby", sender: [1], messageID: [0], epoch: 0, envelope: Array(kept.utf8), now: 40 * day)
            _ = try database.appendDirectMessage(recipient: [2], messageID: [0], message: Array(keptDirect.utf8), now: 40 * day)
        }
        #expect(rawBytes().range(of: Data(expired.utf8)) != nil, "the marker is on disk before the purge")

        var total = PurgeReport()
        repeat {
            let pass = try store.performAndWait { try $0.purgeExpired(now: 40 * day, limit: 100) }
            total.add(pass)
        } while total.hasMore
        try store.performAndWait(outsideTransaction: true) { try $0.reclaimSpace() }
        #expect(total.deleted[.roomMessages] == 300)
        #expect(total.deleted[.directMessages] == 300)

        let bytes = rawBytes()
        #expect(bytes.range(of: Data(expired.utf8)) == nil, "no expired byte is left in the file, the WAL or free pages")
        #expect(bytes.range(of: Data(kept.utf8)) != nil, "unexpired data is still there")
        #expect(try store.performAndWait { try $0.directMessages(recipient: [2], after: 0, limit: 10) }.map(\.bytes) == [Array(keptDirect.utf8)],
                "the private message stored after the expired ones is kept")
        store.close()
    }

    @Test(arguments: StoreEngine.allCases) func dryRunCountsWithoutDeleting(on engine: StoreEngine) throws {
        let store = try HavenStore(try freshStoreLocation(engine, folder: directory.path))
        defer { store.close() }
        let day = day
        try store.performAndWait { database in
            try database.createRoom(id: "lobby", name: "Lobby", kind: "support", now: 0)
            for index in 0..<5 {
                _ = try database.appendRoomMessage(room: "lobby", sender: [1], messageID: [UInt8(index)], epoch: 0, envelope: [1], now: 1)
            }
        }
        let report = try store.performAndWait { try $0.purgeExpired(now: 40 * day, limit: 100, dryRun: true) }
        #expect(report.deleted[.roomMessages] == 5)
        #expect(try store.performAndWait { try $0.roomMessages(room: "lobby", after: 0, limit: 10) }.count == 5)
    }

    @Test(arguments: StoreEngine.allCases) func roomPeriodsAndForeverOverrideTheDefault(on engine: StoreEngine) throws {
        let store = try HavenStore(try freshStoreLocation(engine, folder: directory.path))
        defer { store.close() }
        let day = day
        try store.performAndWait { database in
            for room in ["short", "forever", "default"] {
                try database.createRoom(id: room, name: room, kind: "support", now: 0)
                _ = try database.appendRoomMessage(room: room, sender: [1], messageID: Array(room.utf8), epoch: 0, envelope: [1], now: 10 * day)
            }
            try database.setRoomRetention(room: "short", seconds: day)
            try database.setRoomRetention(room: "forever", seconds: nil)
        }
        // Twelve days later: past "short"'s one day, within the 30-day default.
        let first = try store.performAndWait { try $0.purgeExpired(now: 12 * day, limit: 100) }
        #expect(first.deleted[.roomMessages] == 1)
        // A year later: the default room's message goes too; the "forever" room keeps its own.
        let second = try store.performAndWait { try $0.purgeExpired(now: 400 * day, limit: 100) }
        #expect(second.deleted[.roomMessages] == 1)
        #expect(try store.performAndWait { try $0.roomMessages(room: "forever", after: 0, limit: 10) }.count == 1)
        #expect(throws: StoreError.notFound("room nowhere")) {
            try store.performAndWait { try $0.setRoomRetention(room: "nowhere", seconds: 1) }
        }
    }

    @Test(arguments: StoreEngine.allCases) func operatorPeriodsAreStoredAndForeverDisablesAPurge(on engine: StoreEngine) throws {
        let store = try HavenStore(try freshStoreLocation(engine, folder: directory.path))
        defer { store.close() }
        let day = day
        try store.performAndWait { database in
            try database.setRetention(.directMessages, seconds: nil)
            try database.setRetention(.idleIdentities, seconds: 7 * day)
            _ = try database.appendDirectMessage(recipient: [2], messageID: [1], message: [1], now: 1)
            try database.upsertMember([9], displayName: "Old Owl", now: 1)
        }
        let policy = try store.performAndWait { try $0.retentionPolicy() }
        #expect(policy.seconds(for: .directMessages) == nil)
        #expect(policy.seconds(for: .idleIdentities) == 7 * day)
        #expect(policy.seconds(for: .reports) == 180 * day)
        let report = try store.performAndWait { try $0.purgeExpired(now: 1000 * day, limit: 100) }
        #expect(report.deleted[.directMessages] == nil)
        #expect(report.deleted[.idleIdentities] == 1)
        #expect(throws: StoreError.conflict("direct_messages are kept at least an hour (times are kept to the hour)")) {
            try store.performAndWait { try $0.setRetention(.directMessages, seconds: 1800) }
        }
    }

    @Test(arguments: StoreEngine.allCases) func aRoomLogIsCompactedAtTheEpochThatWasCurrentARetentionPeriodAgo(on engine: StoreEngine) throws {
        let store = try HavenStore(try freshStoreLocation(engine, folder: directory.path))
        defer { store.close() }
        let day = day
        // Epochs began on days 0, 10 and 35, each followed by a join.
        try store.performAndWait { database in
            try database.createRoom(id: "lobby", name: "Lobby", kind: "support", now: 0)
            for (index, started) in ([0, 10, 35] as [Int64]).enumerated() {
                let seq = Int64(index * 2)
                try database.appendRoomLog(room: "lobby", seq: seq, kind: "epoch", entry: [UInt8(seq)], epoch: Int64(index), now: started * day)
                try database.appendRoomLog(room: "lobby", seq: seq + 1, kind: "join", entry: [UInt8(seq + 1)], epoch: nil, now: started * day)
            }
        }
        func kept() throws -> [Int64] {
            try store.performAndWait { try $0.roomLog(room: "lobby", from: 0, limit: 100) }.map { Int64($0[0]) }
        }
        // On day 45 the epoch current 30 days before began on day 10: what came before it goes.
        var report = try store.performAndWait { try $0.purgeExpired(now: 45 * day, limit: 100) }
        #expect(report.deleted[.roomLog] == 2)
        #expect(try kept() == [2, 3, 4, 5])
        // Long after, the latest checkpoint and what follows it stay: members verify from there.
        report = try store.performAndWait { try $0.purgeExpired(now: 1000 * day, limit: 100) }
        #expect(report.deleted[.roomLog] == 2)
        #expect(try kept() == [4, 5])
        #expect(try store.performAndWait { try $0.roomLogCheckpoint(room: "lobby") } == 4)
    }

    /// The bytes of `key` anywhere in the database file or its WAL.
    func occurrences(of key: [UInt8]) -> Int {
        let bytes = rawBytes()
        var count = 0
        var start = bytes.startIndex
        while let found = bytes[start...].firstRange(of: key) {
            count += 1
            start = found.upperBound
        }
        return count
    }

    @Test func anExpiredIdentityLeavesItsKeyNowhereUnlessABanHoldsIt() throws {
        let store = try HavenStore(path: path)
        let gone = Array("GONE-IDENTITY-KEY-0123456789abcd".utf8)
        let banned = Array("BANNED-IDENTITY-KEY-0123456789ab".utf8)
        let active = Array("ACTIVE-IDENTITY-KEY-0123456789ab".utf8)
        let day = day
        let limits = BlobStoreLimits(blobsPerOwner: 10, bytesPerOwner: 1 << 20, totalBytes: 1 << 30)
        try store.performAndWait { database in
            try database.setRetention(.reports, seconds: nil)
            try database.setRetention(.moderationLog, seconds: nil)
            try database.setRetention(.attachments, seconds: nil)
            try database.createRoom(id: "lobby", name: "Lobby", kind: "support", now: 0)
            for member in [gone, banned] { try database.upsertMember(member, displayName: "Old Owl", now: 1) }
            try database.upsertMember(active, displayName: "Calm Heron", now: 999 * day)
            try database.addRoomMember(room: "lobby", member: gone)
            _ = try database.storeKeyBundle(room: "lobby", epoch: 0, recipient: active, sealer: gone, bundle: [1], now: 1)
            _ = try database.storeKeyBundle(room: "lobby", epoch: 0, recipient: gone, sealer: active, bundle: [2], now: 1)
            _ = try database.storeBlob(id: Array(repeating: 7, count: 16), owner: gone, data: [3], now: 1, limits: limits)
            try database.addSanction(actionID: [4], kind: "suspend", member: gone, until: 2, now: 1)
            try database.addSanction(actionID: [5], kind: "ban", member: banned, until: nil, now: 1)
            try database.addReport(id: [6], reporter: gone, sender: active, messageID: [1], room: "lobby", category: "other", report: [6], now: 1)
            try database.addReport(id: [7], reporter: active, sender: gone, messageID: [2], room: "lobby", category: "other", report: [7], now: 1)
            try database.appendModeration(id: [8], kind: "suspend", room: nil, moderator: active, target: gone, action: [8], now: 1)
        }
        #expect(occurrences(of: gone) > 0)
        let report = try store.performAndWait { try $0.purgeExpired(now: 1000 * day, limit: 100) }
        try store.performAndWait(outsideTransaction: true) { try $0.reclaimSpace() }
        store.close()
        #expect(report.deleted[.idleIdentities] == 1, "the banned identity is kept while the ban holds")
        #expect(occurrences(of: gone) == 0, "the expired key is still on disk")
        #expect(occurrences(of: banned) > 0)
        #expect(occurrences(of: active) > 0)
    }
}
