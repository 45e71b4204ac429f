/// How much attachment data may be stored: per identity, and for everyone together (the rest of
/// the disk stays for messages).
public struct BlobStoreLimits: Sendable, Equatable {
    /// Attachments one identity may have stored at once.
    public var blobsPerOwner: Int
    /// Bytes of attachments one identity may have stored at once.
    public var bytesPerOwner: Int
    /// Bytes of attachments stored for everyone together.
    public var totalBytes: Int

    /// Creates limits.
    public init(blobsPerOwner: Int, bytesPerOwner: Int, totalBytes: Int) {
        self.blobsPerOwner = blobsPerOwner
        self.bytesPerOwner = bytesPerOwner
        self.totalBytes = totalBytes
    }
}

/// What became of an attachment the store was asked to keep.
public enum BlobStoreOutcome: Sendable, Equatable {
    /// Stored.
    case stored
    /// Not stored: its owner already has as many attachments, or as many bytes, as they may.
    case ownerQuotaFull
    /// Not stored: attachments together have reached their share of the disk.
    case storeFull
}

extension StoreDatabase {
    /// The size of the parts an attachment is stored (and downloaded) in.
    public static let blobPartBytes = 64 * 1024

    /// Stores an encrypted attachment blob, in parts of ``blobPartBytes``, if its owner's quota
    /// and the attachments' share of the store allow it (checked and written in one transaction).
    public func storeBlob(id: [UInt8], owner: [UInt8], data: [UInt8], now: Int64, limits: BlobStoreLimits) throws -> BlobStoreOutcome {
        for (part, start) in stride(from: 0, to: data.count, by: Self.blobPartBytes).enumerated() {
            try storeBlobPart(id: id, part: part, data: Array(data[start..<min(start + Self.blobPartBytes, data.count)]))
        }
        return try finishBlob(id: id, owner: owner, size: data.count, now: now, limits: limits)
    }

    /// Stores part `part` (from 0) of an attachment still arriving: nobody can read it until
    /// ``finishBlob(id:owner:size:now:limits:)``.
    public func storeBlobPart(id: [UInt8], part: Int, data: [UInt8]) throws {
        try run("INSERT INTO blob_parts (blob, part, data) VALUES (?, ?, ?)", [.blob(id), .integer(Int64(part)), .blob(data)])
    }

    /// Makes an attachment whose parts have all been stored readable, if its owner's quota and
    /// the attachments' share of the store allow it; otherwise deletes its parts.
    public func finishBlob(id: [UInt8], owner: [UInt8], size: Int, now: Int64, limits: BlobStoreLimits) throws -> BlobStoreOutcome {
        let mine = try run("SELECT COUNT(*), CAST(COALESCE(SUM(size), 0) AS BIGINT) FROM blobs WHERE owner = ?", [.blob(owner)]).first
        let (count, bytes) = (mine?[0].integer ?? 0, mine?[1].integer ?? 0)
        let total = try run("SELECT CAST(COALESCE(SUM(size), 0) AS BIGINT) FROM blobs").first?.first?.integer ?? 0
        let outcome: BlobStoreOutcome
        if count >= limits.blobsPerOwner || Int(bytes) + size > limits.bytesPerOwner {
            outcome = .ownerQuotaFull
        } else if Int(total) + size > limits.totalBytes {
            outcome = .storeFull
        } else {
            outcome = .stored
        }
        guard outcome == .stored else {
            try discardBlobParts(id: id)
            return outcome
        }
        try run("INSERT INTO blobs (id, owner, created_at, size) VALUES (?, ?, ?, ?)",
                [.blob(id), .blob(owner), .integer(StoredTime.coarse(now)), .integer(Int64(size))])
        return .stored
    }

    /// Deletes an attachment and its parts, whether or not it was finished.
    public func forgetBlob(id: [UInt8]) throws {
        try run("DELETE FROM blobs WHERE id = ?", [.blob(id)])
        try run("DELETE FROM blob_parts WHERE blob = ?", [.blob(id)])
    }

    /// Deletes the parts of an attachment that never finished arriving (overwritten: `secure_delete`).
    public func discardBlobParts(id: [UInt8]) throws {
        try run("DELETE FROM blob_parts WHERE blob = ? AND blob NOT IN (SELECT id FROM blobs)", [.blob(id)])
    }

    /// Deletes parts that belong to no attachment (an upload cut off by a restart); how many.
    @discardableResult
    public func discardOrphanBlobParts() throws -> Int {
        try run("DELETE FROM blob_parts WHERE blob NOT IN (SELECT id FROM blobs)")
        return connection.changes
    }

    /// An attachment's size in bytes, if it is still kept.
    public func blobSize(id: [UInt8]) throws -> Int? {
        try run("SELECT size FROM blobs WHERE id = ?", [.blob(id)]).first.map { Int($0[0].integer) }
    }

    /// Part `part` (from 0) of an attachment, if the attachment is still kept and has that part.
    public func blobPart(id: [UInt8], part: Int) throws -> [UInt8]? {
        try run("SELECT data FROM blob_parts WHERE blob = ? AND part = ?", [.blob(id), .integer(Int64(part))]).first?.first?.blob
    }
}
