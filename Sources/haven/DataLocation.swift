import ArgumentParser
import Foundation
import HavenStore

/// The `--data` folder (or `--store` PostgreSQL database) of commands that work on the database
/// directly (safe while servers run: writers take turns, and servers pick up room changes
/// within seconds).
struct DataLocation: ParsableArguments {
    @Option(help: "The data folder holding haven.sqlite (installed: /var/lib/haven).")
    var data = InstalledFiles.defaultData

    @Option(help: "The PostgreSQL database the servers share (postgres://user@host:5432/database), instead of --data.")
    var store: String?

    /// Opens the store; only with `creating` does it create the folder and the database, so a
    /// command given the wrong folder says so instead of changing a new, empty database.
    func openStore(creating: Bool = false) throws -> HavenStore {
        if let store {
            guard case .postgres(let url) = StoreLocation(store) else { throw ValidationError("--store must be a postgres:// URL") }
            do { return try HavenStore(postgres: url) } catch { throw ValidationError("cannot open \(StoreLocation(store)): \(error)") }
        }
        guard creating || FileManager.default.fileExists(atPath: data + "/haven.sqlite") else {
            throw ValidationError("no database in \(data); give the service's data folder with --data (installed: /var/lib/haven)")
        }
        try DataFolderOwner.become(ownerOf: data)
        // Only the server migrates, after backing the database up as it was.
        if let found = try? HavenStore.schemaVersion(at: data + "/haven.sqlite"), found > 0, found < HavenStore.schemaVersion {
            throw ValidationError("the database in \(data) is schema \(found), older than this Haven (\(HavenStore.schemaVersion)): "
                + "restart the service first; it backs the database up and migrates it")
        }
        do {
            try FileManager.default.createDirectory(atPath: data, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
            return try HavenStore(path: data + "/haven.sqlite")
        } catch {
            throw ValidationError("cannot open the database in \(data): \(error)")
        }
    }
}

/// Runs `body` against the store and prints a store error as one line (exit status 1).
func withStore<Value>(_ location: DataLocation, creating: Bool = false, _ body: (HavenStore) throws -> Value) throws -> Value {
    let store = try location.openStore(creating: creating)
    defer { store.close() }
    do {
        return try body(store)
    } catch let error as StoreError {
        FileHandle.standardError.write(Data("error: \(error)\n".utf8))
        throw ExitCode.failure
    }
}
