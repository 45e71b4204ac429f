import Foundation
public import HavenStore

/// A PostgreSQL server of the tests' own, from Debian's packages (`postgresql`): a cluster made
/// with `initdb` in a temporary folder, listening on a Unix socket there only, stopped when the
/// test process exits. Run as the `postgres` user when the tests run as root (PostgreSQL refuses
/// root).
public final class TestPostgres: Sendable {
    /// The folder holding the cluster and its socket.
    public let folder: String

    /// One server for every test of the process that needs no server of its own; its databases
    /// are fresh per test (``freshDatabase()``).
    public static let shared = Result { try TestPostgres() }

    /// Why a PostgreSQL server could not be started for the tests.
    public struct Unavailable: Error, CustomStringConvertible {
        public let description: String
    }

    /// Makes and starts a new cluster.
    ///
    /// - Throws: ``Unavailable`` when PostgreSQL is not installed or does not start.
    public init() throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("haven-pg-\(UUID().uuidString.prefix(8))").path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        if getuid() == 0 { try Self.run(["/bin/chown", "postgres", folder], as: nil) }
        try Self.run([Self.binary("initdb"), "-D", folder + "/data", "-A", "trust", "-U", "haven", "-E", "UTF8", "--no-sync"])
        try start()
        StartedClusters.shared.add(self)
    }

    /// The URL of a new, empty database on this server.
    ///
    /// - Throws: ``Unavailable`` when the server does not answer.
    public func freshDatabase() throws -> StoreLocation {
        let name = "haven_\(UUID().uuidString.prefix(12).lowercased().replacingOccurrences(of: "-", with: ""))"
        try Self.run([Self.binary("createdb"), "-h", folder, "-U", "haven", name])
        return .postgres(url: url(database: name))
    }

    /// The URL of `database` on this server.
    public func url(database: String) -> String {
        "postgres:///\(database)?host=\(folder)&user=haven"
    }

    /// Starts the server (again, after ``stop()``) and waits until it accepts connections.
    ///
    /// - Throws: ``Unavailable``.
    public func start() throws {
        try Self.run([
            Self.binary("pg_ctl"), "-D", folder + "/data", "-l", folder + "/server.log", "-w", "-t", "60",
            "-o", "-k \(folder) -c listen_addresses='' -c max_connections=200", "start",
        ])
    }

    /// Stops the server at once, as a crash would (`immediate`: no checkpoint).
    ///
    /// - Throws: ``Unavailable``.
    public func stop() throws {
        try Self.run([Self.binary("pg_ctl"), "-D", folder + "/data", "-m", "immediate", "-w", "stop"])
    }

    /// PostgreSQL's program `name`, from the directory `pg_config` reports.
    private static func binary(_ name: String) -> String { binaryFolder + "/" + name }

    private static let binaryFolder = (try? ChildProcess.runToEnd(["/usr/bin/pg_config", "--bindir"]))?.output
        .trimmingCharacters(in: .whitespacesAndNewlines) ?? "/usr/lib/postgresql/15/bin"

    /// Runs `arguments` to its end, as the `postgres` user when this process is root.
    private static func run(_ arguments: [String], as user: String? = "postgres") throws {
        let command = (getuid() == 0 && user != nil ? ["/usr/sbin/runuser", "-u", user!, "--"] : []) + arguments
        let (status, _, errors) = try ChildProcess.runToEnd(command)
        guard status == 0 else { throw Unavailable(description: "\(arguments[0]) failed: \(errors)") }
    }
}

/// The clusters this process started, stopped and removed when it exits.
private final class StartedClusters: @unchecked Sendable {
    // @unchecked Sendable: `clusters` is guarded by `lock`.
    static let shared = StartedClusters()
    private let lock = NSLock()
    private var clusters: [TestPostgres] = []

    private init() {
        atexit {
            for cluster in StartedClusters.shared.lock.withLock({ StartedClusters.shared.clusters }) {
                try? cluster.stop()
                try? FileManager.default.removeItem(atPath: cluster.folder)
            }
        }
    }

    func add(_ cluster: TestPostgres) {
        lock.withLock { clusters.append(cluster) }
    }
}

/// A fresh, empty store location on `engine`: a SQLite file in `folder`, or a new database on
/// the tests' PostgreSQL server.
///
/// - Throws: ``TestPostgres/Unavailable`` when PostgreSQL cannot be started.
public func freshStoreLocation(_ engine: StoreEngine, folder: String) throws -> StoreLocation {
    switch engine {
    case .sqlite: return .sqlite(path: folder + "/haven.sqlite")
    case .postgres: return try TestPostgres.shared.get().freshDatabase()
    }
}
