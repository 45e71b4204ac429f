import ArgumentParser
import Foundation

/// Run as root on a data folder that belongs to another user (the service's), a command works as
/// that user: the files it makes there (the database's journal, a backup's snapshot) are the
/// service's, and nothing that user could put in the folder (a link where the database should be)
/// can steer root into opening, creating or changing a file elsewhere.
enum DataFolderOwner {
    /// Drops root for good, to `folder`'s owner, when root runs this and someone else owns it.
    ///
    /// - Throws: `ValidationError` when the switch fails.
    static func become(ownerOf folder: String) throws {
        var status = stat()
        guard geteuid() == 0, stat(folder, &status) == 0, status.st_uid != 0 else { return }
        guard setgroups(0, nil) == 0, setgid(status.st_gid) == 0, setuid(status.st_uid) == 0 else {
            throw ValidationError("cannot work as the owner of \(folder) (uid \(status.st_uid)); run this as that user")
        }
    }
}
