import ArgumentParser
import Foundation
import HavenNet
import HavenBackup
import HavenKeys
import HavenProtocol
import HavenServer
import HavenStore

/// `haven serve`: runs the server until SIGINT or SIGTERM.
struct Serve: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the Haven server.",
        discussion: """
            Serves the WebSocket endpoint /v1/ws, /healthz and /metrics. Messages are kept in an
            embedded SQLite database in the data folder (created if missing). Flags override the
            optional TOML config file. Stops gracefully on Ctrl-C or SIGTERM: it stops accepting,
            closes connections, and commits everything already acknowledged.

            Examples:
              haven serve
              haven serve --listen 0.0.0.0:8080 --data /var/lib/haven --allowed-origin https://support.example.org
              haven serve --config /etc/haven/haven.toml

            Exit codes: 0 after a clean stop, 1 when the configuration is wrong or the server cannot start.
            """
    )

    @Option(help: "Address and port to listen on, HOST:PORT (port 0 picks a free one), or a Unix-domain socket's path for a proxy on this machine.")
    var listen: String?

    @Option(help: "A PostgreSQL database shared by several nodes (postgres://user@host:5432/database) instead of haven.sqlite in the data folder.")
    var store: String?

    @Option(help: "The Redis server nodes sharing the --store database tell each other what they commit through (redis://host:6379).")
    var redis: String?

    @Option(help: "Folder for the database (default ./data).")
    var data: String?

    @Option(help: "TOML config file.")
    var config: String?

    @Option(help: "Name clients sign at login; use the public host name.")
    var serverName: String?

    @Option(help: "An origin allowed to open WebSockets (repeatable; \"*\" allows any).")
    var allowedOrigin: [String] = []

    @Option(help: "The web widget's folder (default: the clone's, or the installed /usr/share/haven/web).")
    var web = InstalledFiles.defaultWeb

    @Option(help: "The keys folder; its organisation.pub lets staff invites be redeemed, and its backup.pub seals the backup taken before an upgrade migrates the database.")
    var keys = InstalledFiles.defaultKeys

    @Option(help: "The folder for the backup taken before an upgrade migrates the database (default: DATA/backups).")
    var backups: String?

    @Option(help: "Durability of each commit: full (default) or normal.")
    var synchronous: String?

    @Option(help: "Largest WebSocket message accepted, in bytes (default 163840).")
    var maxMessageBytes: Int?

    @Option(help: "Bytes queued for one client before it is disconnected as too slow (default 1048576).")
    var maxQueuedBytes: Int?

    @Option(help: "Event loops for connections, each on a thread of its own (default: one per core).")
    var loops: Int?

    func run() throws {
        var configuration = ServerConfiguration()
        configuration.loops = ProcessInfo.processInfo.activeProcessorCount
        var backupFolder = backups
        do {
            if let config {
                let file = try ServeConfigFile.load(config)
                try file.apply(to: &configuration)
                backupFolder = backupFolder ?? file.backups
            }
            if let listen { try configuration.setListen(listen) }
            if let data { configuration.dataDirectory = data }
            if let store {
                guard case .postgres = StoreLocation(store) else { throw ConfigError("--store must be a postgres:// URL (got something else); SQLite's file is haven.sqlite in --data") }
                configuration.database = StoreLocation(store)
            }
            if let redis { try configuration.setRedis(redis) }
            if configuration.cluster != nil, configuration.storeLocation.engine != .postgres { throw ClusterError.needsSharedDatabase }
            if let serverName { configuration.serverName = serverName }
            if !allowedOrigin.isEmpty { configuration.network.allowedOrigins = allowedOrigin }
            if let synchronous { try configuration.setSynchronous(synchronous) }
            if let loops { try configuration.setLoops(loops) }
            if let maxMessageBytes { configuration.network.maxMessageBytes = maxMessageBytes }
            if let maxQueuedBytes { configuration.network.maxQueuedBytes = maxQueuedBytes }
            guard configuration.network.maxMessageBytes >= 1024, configuration.network.maxQueuedBytes >= 65_536 else {
                throw ConfigError("limits too small: max message bytes must be at least 1024, max queued bytes at least 65536")
            }
        } catch {
            throw ValidationError("\(error)")
        }
        let keyDirectory = KeyDirectory(path: keys)
        if FileManager.default.fileExists(atPath: keyDirectory.organisationPublicKeyPath) {
            do {
                configuration.organisationPublicKey = try keyDirectory.organisationPublicKey()
            } catch {
                throw ValidationError("\(error)")
            }
        } else {
            ServerLog.warning("no \(keyDirectory.organisationPublicKeyPath): staff invites cannot be redeemed (run `haven keys init`)")
        }
        if FileManager.default.fileExists(atPath: web + "/index.html") {
            configuration.web = try? WebRoot(directory: web)
        } else {
            ServerLog.warning("no web widget in \(web): serving the API only")
        }
        if configuration.widget.crisisContacts.isEmpty {
            ServerLog.warning("no [widget] crisis_contacts: the crisis button shows general emergency numbers only; set your local ones (docs/operations.md)")
        }
        if configuration.turn == nil {
            ServerLog.warning("no [turn] relay: members take calls only if they allow a direct connection, which shows their address to the counsellor (docs/operations.md)")
        }
        ProcessLimits.disableCoreDumps()
        // As high as the hard limit the operator set (LimitNOFILE): each idle member costs little.
        let files = ProcessLimits.raiseOpenFiles(to: .max)
        // Room for the database, the listener and logs besides the connections.
        configuration.network.maxConnections = max(64, Int(files) - 256)
        ServerLog.info("open-files limit is \(files), so at most \(configuration.network.maxConnections) connections; core dumps are disabled")
        let server: RunningServer
        let folder: DataFolderLock
        do {
            try FileManager.default.createDirectory(atPath: configuration.dataDirectory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
            folder = try DataFolderLock(folder: configuration.dataDirectory)
            // A restore cut off by a crash left the database in the clear beside it: not kept.
            BackupFolder.removeLeftovers(in: configuration.dataDirectory)
            // On PostgreSQL, the operator's own backups (pg_dump, base backups) come before an upgrade.
            if configuration.storeLocation.engine == .sqlite {
                try UpgradeBackup.takeIfMigrating(
                    databasePath: configuration.databasePath, keys: keyDirectory, into: backupFolder ?? configuration.dataDirectory + "/backups")
            }
            server = try RunningServer.start(configuration)
        } catch {
            ServerLog.write("error", "cannot start: \(error)")
            throw ExitCode.failure
        }
        try server.runUntilSignalled {
            let host = configuration.network.host.contains(":") ? "[\(configuration.network.host)]" : configuration.network.host
            let page: String
            if let socket = configuration.network.unixSocketPath {
                ServerLog.info("listening on the Unix-domain socket \(socket), for the reverse proxy in front")
                page = "https://\(configuration.serverName)/"
            } else {
                ServerLog.info("listening on http://\(host):\(server.port) (WebSocket ws://\(host):\(server.port)\(configuration.network.webSocketPath))")
                page = "http://\(host):\(server.port)/"
            }
            if let organisation = configuration.organisationPublicKey {
                let fragment = OrganisationAnchor.fragment(organisation: organisation, serverName: configuration.serverName)
                ServerLog.info("open \(page)#\(fragment) (the fragment pins the organisation key "
                    + "\(OrganisationAnchor.fingerprint(of: organisation)); `haven widget snippet` prints the embedding code)")
            }
            ServerLog.info("rooms: \(configuration.rooms.map(\.id).joined(separator: ", ")); data in \(configuration.storeLocation); \(configuration.loops) event loop\(configuration.loops == 1 ? "" : "s")")
        }
        withExtendedLifetime(folder) { ServerLog.info("stopped cleanly") }
    }
}
