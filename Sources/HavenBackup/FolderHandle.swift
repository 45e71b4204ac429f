import Foundation

/// A folder held open by descriptor, for writing into one that may be another user's (the
/// service's, when root makes a backup or restores one): files are created with `O_EXCL` and
/// `O_NOFOLLOW`, given to the folder's owner through their descriptor, and renamed within the
/// folder, so nothing that user put in the way (a symbolic link, a swapped file) is followed.
final class FolderHandle {
    let path: String
    private let descriptor: Int32

    /// Opens the folder at `path`, creating it 0700 first if it is not there.
    ///
    /// - Throws: ``BackupError/file(path:reason:)``, also when `path` is a symbolic link.
    init(_ path: String) throws {
        if mkdir(path, 0o700) != 0 && errno != EEXIST { throw Self.failure(path, "cannot be created") }
        // The folder the kernel finds (links and ".." resolved as it resolves them), held from
        // here on by descriptor.
        guard let resolved = realpath(path, nil) else { throw Self.failure(path, "cannot be found") }
        defer { free(resolved) }
        self.path = String(cString: resolved)
        descriptor = open(resolved, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
        guard descriptor >= 0 else { throw Self.failure(self.path, "cannot be opened as a folder") }
    }

    deinit { close(descriptor) }

    /// Holds the folder for this process alone until it is released: two backups into one
    /// folder at once could delete each other's files.
    ///
    /// - Throws: ``BackupError/busy(path:)`` when another process holds it.
    func lock() throws {
        guard flock(descriptor, LOCK_EX | LOCK_NB) == 0 else { throw BackupError.busy(path: path) }
    }

    /// Whether the folder has an entry `name` (of any kind, links not followed).
    func contains(_ name: String) -> Bool {
        var status = stat()
        return fstatat(descriptor, name, &status, AT_SYMLINK_NOFOLLOW) == 0
    }

    /// Creates the file `name` (0600, never an existing one), owned like the folder when root
    /// writes it.
    func create(_ name: String) throws -> FileHandle {
        let file = openat(descriptor, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o600)
        guard file >= 0 else { throw Self.failure(path + "/" + name, "cannot be created") }
        var folder = stat()
        if geteuid() == 0, fstat(descriptor, &folder) == 0, folder.st_uid != 0 || folder.st_gid != 0 {
            guard fchown(file, folder.st_uid, folder.st_gid) == 0 else {
                close(file)
                throw Self.failure(path + "/" + name, "cannot be given to the folder's owner")
            }
        }
        return FileHandle(fileDescriptor: file, closeOnDealloc: true)
    }

    /// Renames `name` to `newName` within the folder, replacing an entry there (a link is
    /// replaced, never followed).
    func rename(_ name: String, to newName: String) throws {
        guard renameat(descriptor, name, descriptor, newName) == 0 else { throw Self.failure(path + "/" + newName, "cannot be put in place") }
    }

    /// Removes the file `name`, if there (a link is removed, never followed).
    func remove(_ name: String) {
        unlinkat(descriptor, name, 0)
    }

    /// The names in the folder.
    func names() -> [String] {
        (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd/\(descriptor)")) ?? []
    }

    private static func failure(_ path: String, _ what: String) -> BackupError {
        BackupError.file(path: path, reason: "\(what) (\(String(cString: strerror(errno))))")
    }
}
