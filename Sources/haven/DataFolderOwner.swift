import ArgumentParser
import Foundation

/// Run as root on a data folder that belongs to another user (the service's), a command works as
/// that user: the files it makes there (the database's journal, a backup's snapshot) are the
/// service's, and nothing that user could put in the folder, or on the path to it (a link where
/// the database should be, a folder swapped for another), can steer root into opening, creating or
/// changing a file elsewhere.
enum DataFolderOwner {
    /// Drops root for good, to the one user other than root who owns `folder` or a folder on the
    /// way to it (with that user's own group), when root runs this. Root stays root only on a
    /// path that is root's throughout and that nobody else may change.
    ///
    /// - Throws: `ValidationError` when the path is shared in a way no single user stands for,
    ///   or the switch fails.
    static func become(ownerOf folder: String) throws {
        guard geteuid() == 0, let resolved = realpath(folder, nil) else { return }
        defer { free(resolved) }
        var owners: Set<uid_t> = []
        var sharedWithOthers: String?
        var path = String(cString: resolved)
        while true {
            var status = stat()
            guard stat(path, &status) == 0 else { throw ValidationError("cannot look at \(path): \(String(cString: strerror(errno)))") }
            if status.st_uid != 0 { owners.insert(status.st_uid) }
            let writableByOthers = status.st_mode & 0o022 != 0 && status.st_mode & S_ISVTX == 0
            if writableByOthers, sharedWithOthers == nil { sharedWithOthers = path }
            guard path != "/" else { break }
            path = (path as NSString).deletingLastPathComponent
        }
        guard owners.count <= 1 else {
            throw ValidationError("\(folder) lies in folders of more than one user: run this as the data folder's owner (sudo -u haven haven ...)")
        }
        guard let owner = owners.first else {
            if let sharedWithOthers {
                throw ValidationError("\(sharedWithOthers) may be changed by users other than root: make it 0755 (or 0700) before running this as root")
            }
            return
        }
        guard let account = getpwuid(owner) else {
            throw ValidationError("\(folder) belongs to uid \(owner), which is no user of this machine: run this as its owner")
        }
        guard setgroups(0, nil) == 0, setgid(account.pointee.pw_gid) == 0, setuid(owner) == 0 else {
            throw ValidationError("cannot work as the owner of \(folder) (uid \(owner)); run this as that user")
        }
    }
}
