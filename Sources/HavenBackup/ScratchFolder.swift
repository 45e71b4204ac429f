import Foundation
import Synchronization

/// A folder (0700) for a database in the clear while a backup is made or a restore is checked,
/// made where no other user can rename or replace what is in it: in the data folder when that is
/// this user's alone (the service making its own backup), else in the folder above it when that
/// is (root working on the service's data folder). Its name begins with
/// ``BackupFolder/leftoverPrefix``, so what a crash leaves is found and removed.
/// While in use it is locked (`flock`), so a cleanup of leftovers never takes one still at work.
final class ScratchFolder {
    let path: String
    private let descriptor: Int32

    /// First removes what backups or restores cut off left in either place (never a scratch
    /// folder another process still works in).
    ///
    /// - Throws: ``BackupError/file(path:reason:)`` when neither place is this user's alone.
    init(near dataFolder: String) throws {
        for place in BackupFolder.scratchPlaces(for: dataFolder) { BackupFolder.removeLeftovers(in: place) }
        guard let place = BackupFolder.scratchPlaces(for: dataFolder).first(where: Self.isOwnAlone) else {
            throw BackupError.file(path: dataFolder, reason: "neither it nor the folder above it is yours alone: run this as the data folder's owner (sudo -u haven haven ...)")
        }
        var template = Array((place + "/" + BackupFolder.leftoverPrefix + "XXXXXX").utf8CString)
        guard let made = mkdtemp(&template) else {
            throw BackupError.file(path: place, reason: "no folder can be made in it (\(String(cString: strerror(errno))))")
        }
        path = String(cString: made)
        descriptor = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
        guard descriptor >= 0, flock(descriptor, LOCK_EX | LOCK_NB) == 0 else {
            try? FileManager.default.removeItem(atPath: path)
            throw BackupError.file(path: path, reason: "cannot be held while in use")
        }
        Self.live.withLock { _ = $0.insert(path) }
    }

    deinit { close(descriptor) }

    /// The scratch folders this process has open, for ``removeAll()``.
    private static let live = Mutex<Set<String>>([])

    /// Removes every scratch folder this process has open: for a signal that ends it while a
    /// database in the clear is in one (an operator's Ctrl-C at a restore's question).
    static func removeAll() {
        for path in live.withLock({ $0 }) { try? FileManager.default.removeItem(atPath: path) }
    }

    /// Whether the leftover at `path` is a scratch folder some process still works in.
    static func isInUse(_ path: String) -> Bool {
        let held = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
        guard held >= 0 else { return false }
        defer { close(held) }
        return flock(held, LOCK_EX | LOCK_NB) != 0
    }

    /// Owned by this user, a folder and not a link, and nobody else may change what is in it.
    static func isOwnAlone(_ folder: String) -> Bool {
        var status = stat()
        guard lstat(folder, &status) == 0, status.st_mode & S_IFMT == S_IFDIR else { return false }
        return status.st_uid == geteuid() && status.st_mode & 0o022 == 0
    }

    /// Removes the folder and everything in it.
    func remove() {
        try? FileManager.default.removeItem(atPath: path)
        Self.live.withLock { _ = $0.remove(path) }
    }
}
