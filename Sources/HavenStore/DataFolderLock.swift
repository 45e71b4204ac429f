import Foundation

/// The data folder, held (`flock`) by the one process that may replace or serve its database: a
/// running server, or a restore. A second server on the same folder, or a restore under a running
/// one (whose writes would go to the database it replaced, and be lost), is refused. Operator
/// commands that only change rows (rooms, invites, retention) do not take it: SQLite orders them.
public final class DataFolderLock {
    private let descriptor: Int32

    /// Takes the lock on `folder`, held until this is released.
    ///
    /// - Throws: ``StoreError/folderInUse(path:)`` when another process holds it, or
    ///   ``StoreError/openFailed(path:reason:)`` when the folder cannot be opened.
    public init(folder: String) throws(StoreError) {
        descriptor = open(folder, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard descriptor >= 0 else { throw .openFailed(path: folder, reason: String(cString: strerror(errno))) }
        guard flock(descriptor, LOCK_EX | LOCK_NB) == 0 else {
            close(descriptor)
            throw .folderInUse(path: folder)
        }
    }

    deinit { close(descriptor) }
}
