import Foundation

/// A folder (0700) for a database in the clear while a backup is made or a restore is checked,
/// made where no other user can rename or replace what is in it: in the data folder when that is
/// this user's alone (the service making its own backup), else in the folder above it when that
/// is (root working on the service's data folder). Its name begins with
/// ``BackupFolder/leftoverPrefix``, so what a crash leaves is found and removed.
struct ScratchFolder {
    let path: String

    /// - Throws: ``BackupError/file(path:reason:)`` when neither place is this user's alone.
    init(near dataFolder: String) throws {
        let folder = URL(fileURLWithPath: dataFolder).standardizedFileURL.path
        let parent = (folder as NSString).deletingLastPathComponent
        guard let place = [folder, parent].first(where: Self.isOwnAlone) else {
            throw BackupError.file(path: folder, reason: "neither it nor the folder above it is yours alone: run this as the data folder's owner (sudo -u haven haven ...)")
        }
        var template = Array((place + "/" + BackupFolder.leftoverPrefix + "XXXXXX").utf8CString)
        guard let made = mkdtemp(&template) else {
            throw BackupError.file(path: place, reason: "no folder can be made in it (\(String(cString: strerror(errno))))")
        }
        path = String(cString: made)
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
    }
}
