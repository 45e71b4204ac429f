import Foundation
import HavenBackup
import HavenKeys
import HavenServer
import HavenStore

/// Before a newer Haven migrates the database, a backup of it as it is, sealed to the backup key
/// and signed by the server's (when the keys folder has `backup.pub` and `server.key`), so an upgrade that goes wrong can be undone with the
/// Haven that wrote it.
enum UpgradeBackup {
    /// Takes that backup if the database at `databasePath` is older than this Haven.
    ///
    /// - Throws: ``BackupError`` or ``KeyFileError`` when the backup cannot be made (the server
    ///   then does not start, and nothing is migrated).
    static func takeIfMigrating(databasePath: String, keys: KeyDirectory, into folder: String) throws {
        guard let found = try HavenStore.schemaVersion(at: databasePath), found > 0, found < HavenStore.schemaVersion else { return }
        for needed in [keys.backupPublicKeyPath, keys.serverKeyPath] where !FileManager.default.fileExists(atPath: needed) {
            ServerLog.warning("migrating the database from schema \(found) to \(HavenStore.schemaVersion) without a backup: "
                + "there is no \(needed) (docs/operations.md, Backups)")
            return
        }
        let outcome = try BackupFolder(path: folder).make(
            from: databasePath, sealedTo: try keys.backupPublicKey(), signedBy: try keys.serverKey(), now: Int64(Date().timeIntervalSince1970),
            asItIs: true)
        ServerLog.info("backed up the database (schema \(found)) before migrating it: \(outcome.made.path)")
    }
}
