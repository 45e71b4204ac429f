import ArgumentParser
import Foundation
import HavenStore

/// The `--data` folder of commands that work on the database directly (safe while the server
/// runs: SQLite locks the file, and the server picks up room changes within seconds).
struct DataLocation: ParsableArguments {
    @Option(help: "The data folder holding haven.sqlite.")
    var data = "./data"

    /// Opens the store, creating the folder and database if needed.
    func openStore() throws -> HavenStore {
        do {
            try FileManager.default.createDirectory(atPath: data, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
            return try HavenStore(path: data + "/haven.sqlite")
        } catch {
            throw ValidationError("cannot open the database in \(data): \(error)")
        }
    }
}

/// Runs `body` against the store and prints a store error as one line (exit status 1).
func withStore<Value>(_ location: DataLocation, _ body: (HavenStore) throws -> Value) throws -> Value {
    let store = try location.openStore()
    defer { store.close() }
    do {
        return try body(store)
    } catch let error as StoreError {
        FileHandle.standardError.write(Data("error: \(error)\n".utf8))
        throw ExitCode.failure
    }
}
