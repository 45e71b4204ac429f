import Foundation
import HavenStore
import HavenTestSupport
import Testing

/// Attachments are kept in parts, so a download reads one part at a time; parts go with their
/// attachment however it is deleted, and attachments from before parts are moved into them.
@Suite struct BlobPartsTests {
    static let limits = BlobStoreLimits(blobsPerOwner: 10, bytesPerOwner: 1 << 30, totalBytes: 1 << 30)
    let directory: TemporaryDirectory
    var path: String { directory.path + "/haven.sqlite" }

    init() throws { directory = try TemporaryDirectory() }

    static func randomBytes(_ count: Int) -> [UInt8] { (0..<count).map { _ in UInt8.random(in: 0...255) } }

    /// Every part of an attachment, read as a download reads them, joined.
    func download(_ id: [UInt8], from store: HavenStore) throws -> [UInt8]? {
        try store.performAndWait { database -> [UInt8]? in
            guard let size = try database.blobSize(id: id) else { return nil }
            var bytes: [UInt8] = []
            while bytes.count < size, let part = try database.blobPart(id: id, part: bytes.count / StoreDatabase.blobPartBytes) {
                bytes += part
            }
            return bytes
        }
    }

    @Test(arguments: StoreEngine.allCases) func anAttachmentComesBackWholeFromItsParts(on engine: StoreEngine) throws {
        let store = try HavenStore(try freshStoreLocation(engine, folder: directory.path))
        defer { store.close() }
        let data = Self.randomBytes(3 * StoreDatabase.blobPartBytes + 17)
        let id = Self.randomBytes(16)
        #expect(try store.performAndWait { try $0.storeBlob(id: id, owner: [1], data: data, now: 1, limits: Self.limits) } == .stored)
        #expect(try store.performAndWait { try $0.blobPart(id: id, part: 3) }?.count == 17)
        #expect(try store.performAndWait { try $0.blobPart(id: id, part: 4) } == nil)
        #expect(try download(id, from: store) == data)
    }

    @Test func partsGoWithTheirAttachmentAndLeaveNoBytesOnDisk() throws {
        let store = try HavenStore(path: path)
        let id = Self.randomBytes(16)
        let data = Self.randomBytes(200_000)
        _ = try store.performAndWait { try $0.storeBlob(id: id, owner: [1], data: data, now: 1, limits: Self.limits) }
        try store.performAndWait { try $0.setRetention(.attachments, seconds: 10) }
        _ = try store.performAndWait { try $0.purgeExpired(now: 1_000, limit: 100) }
        #expect(try download(id, from: store) == nil)
        #expect(try store.performAndWait { try $0.blobPart(id: id, part: 2) } == nil, "a part outlived its attachment")
        try store.performAndWait(outsideTransaction: true) { try $0.reclaimSpace() }
        store.close()
        let files = [path, path + "-wal"].compactMap { FileManager.default.contents(atPath: $0) }
        let lastPart = Data(data[(3 * StoreDatabase.blobPartBytes)...].prefix(64))
        #expect(!files.contains { $0.range(of: lastPart) != nil }, "the attachment's bytes are still on disk")
    }

    @Test func attachmentsStoredWholeBeforePartsAreMovedIntoParts() throws {
        let data = Self.randomBytes(2 * StoreDatabase.blobPartBytes + 5)
        let id = Self.randomBytes(16)
        // The store as schema 12 left it: each attachment whole in `blobs.data`.
        try HavenStore.createSchema(at: path, version: 12)
        try SQLiteConnection(path: path).prepare("INSERT INTO blobs (id, owner, data, created_at, size) VALUES (?, ?, ?, 1, ?)")
            .query([.blob(id), .blob([1]), .blob(data), .integer(Int64(data.count))])
        let store = try HavenStore(path: path)
        defer { store.close() }
        #expect(try download(id, from: store) == data)
    }

    @Test(arguments: StoreEngine.allCases) func partsOfAnUploadThatNeverFinishedAreFoundAndDeleted(on engine: StoreEngine) throws {
        let store = try HavenStore(try freshStoreLocation(engine, folder: directory.path))
        defer { store.close() }
        let kept = Self.randomBytes(16)
        _ = try store.performAndWait { try $0.storeBlob(id: kept, owner: [1], data: Self.randomBytes(70_000), now: 1, limits: Self.limits) }
        let cut = Self.randomBytes(16)
        try store.performAndWait { try $0.storeBlobPart(id: cut, part: 0, data: Self.randomBytes(100)) }
        #expect(try store.performAndWait { try $0.blobSize(id: cut) } == nil, "an unfinished upload is readable")
        #expect(try store.performAndWait { try $0.discardOrphanBlobParts() } == 1)
        #expect(try store.performAndWait { try $0.blobPart(id: kept, part: 1) }?.count == 70_000 - StoreDatabase.blobPartBytes)
    }

    @Test(arguments: StoreEngine.allCases) func anUploadPastItsOwnersQuotaLeavesNoParts(on engine: StoreEngine) throws {
        let store = try HavenStore(try freshStoreLocation(engine, folder: directory.path))
        defer { store.close() }
        let tight = BlobStoreLimits(blobsPerOwner: 1, bytesPerOwner: 1 << 30, totalBytes: 1 << 30)
        _ = try store.performAndWait { try $0.storeBlob(id: Self.randomBytes(16), owner: [1], data: [1], now: 1, limits: tight) }
        let refused = Self.randomBytes(16)
        #expect(try store.performAndWait { try $0.storeBlob(id: refused, owner: [1], data: Self.randomBytes(100_000), now: 1, limits: tight) } == .ownerQuotaFull)
        #expect(try store.performAndWait { try $0.blobPart(id: refused, part: 0) } == nil)
    }
}
