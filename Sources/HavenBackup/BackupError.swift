/// Every way making, opening or restoring a backup can fail, said for the operator.
public enum BackupError: Error, Equatable, Sendable, CustomStringConvertible {
    /// A file could not be read, written, renamed or removed.
    case file(path: String, reason: String)
    /// The file is not a Haven backup (wrong magic) or not one this version reads.
    case notABackup(path: String)
    /// The backup was sealed to another key, or its sealed key was altered.
    case wrongKey(path: String)
    /// A part of the backup was altered, reordered, or cut off before its end.
    case damaged(path: String, reason: String)
    /// The restored database fails SQLite's integrity check.
    case integrityCheckFailed(reason: String)
    /// The backup comes from a newer Haven than this one.
    case tooNew(schema: Int, supported: Int)
    /// The data folder already holds a database, and replacing it was not asked for.
    case databaseExists(path: String)
    /// The store failed while copying, checking or purging.
    case store(String)
    /// The backup was signed by another server key than the one it must come from.
    case wrongSigner(path: String, found: String, expected: String)
    /// A key the restore needs (the server key backups must be signed by, the backup key) is
    /// missing or not a key.
    case keyMissing(String)
    /// The operator did not confirm what the restore would put in place.
    case notConfirmed
    /// Another backup is being made into the same folder.
    case busy(path: String)
    /// A server is running on the data folder a restore would replace the database of.
    case serverRunning(path: String)
    /// The file is named for another time than the one it was signed as made at.
    case misnamed(path: String, madeAt: Int64)

    public var description: String {
        switch self {
        case .file(let path, let reason): return "\(path): \(reason)"
        case .notABackup(let path): return "\(path) is not a Haven backup (or is from a version this one cannot read)"
        case .wrongKey(let path): return "\(path) was sealed to another backup key (or its key was altered)"
        case .damaged(let path, let reason): return "\(path) is damaged: \(reason)"
        case .integrityCheckFailed(let reason): return "the restored database fails its integrity check: \(reason)"
        case .tooNew(let schema, let supported):
            return "the backup's database is schema \(schema), newer than this Haven supports (\(supported)); restore it with a newer Haven"
        case .databaseExists(let path): return "\(path) already exists; stop the server and pass --replace to restore over it"
        case .store(let reason): return reason
        case .wrongSigner(let path, let found, let expected):
            return "\(path) was signed by server key \(found), not \(expected): it was not made by this server (if it is your old server's, pass --signed-by with that key)"
        case .keyMissing(let reason): return reason
        case .notConfirmed: return "nothing was restored"
        case .busy(let path): return "another backup is being made into \(path); try again when it is done"
        case .serverRunning(let path):
            return "a Haven server is running on \(path): stop it first (systemctl stop haven), or what it writes meanwhile is lost"
        case .misnamed(let path, let madeAt):
            return "\(path) is named for another time than it was made (\(BackupFolder.name(madeAt: madeAt)), as signed): "
                + "an older backup renamed as newer? Restore it under its own name if that is what you want"
        }
    }
}
