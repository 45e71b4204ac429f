import Foundation
import HavenBackup
import HavenKeys
import HavenNet
import HavenServer
import HavenStore

/// What `haven doctor` checks in an installation, each check a list of findings.
struct DoctorChecks {
    let configuration: ServerConfiguration
    let configPath: String
    let keys: KeyDirectory

    /// Mode bits of a file, or nil when it is not there.
    private func mode(_ path: String) -> Int? {
        (try? FileManager.default.attributesOfItem(atPath: path))?[.posixPermissions] as? Int
    }

    private func octal(_ mode: Int) -> String { "0" + String(mode, radix: 8) }

    /// The data folder and the database: there, their owner's alone, a schema this Haven knows.
    func dataFolder() -> [DoctorFinding] {
        let folder = configuration.dataDirectory
        guard let folderMode = mode(folder) else {
            return [.problem("no data folder at \(folder)", fix: "check `data` in \(configPath), or start the service once to create it")]
        }
        var findings: [DoctorFinding] = folderMode & 0o077 == 0
            ? [.ok("the data folder \(folder) is its owner's alone (\(octal(folderMode)))")]
            : [.problem("the data folder \(folder) is \(octal(folderMode)): others can look into it", fix: "chmod 700 \(folder)")]
        let database = configuration.databasePath
        guard let databaseMode = mode(database) else {
            return findings + [.warning("no database yet in \(folder)", fix: "start the service once; it creates it")]
        }
        for leftover in BackupFolder.scratchPlaces(for: folder).flatMap(BackupFolder.leftovers) {
            findings.append(.problem("\(leftover) was left by a backup or restore cut off: it may hold the database in the clear",
                                     fix: "rm -r \(leftover) (the next backup or restore by its owner removes it too)"))
        }
        findings.append(databaseMode & 0o077 == 0
            ? .ok("the database is its owner's alone (\(octal(databaseMode)))")
            : .problem("the database \(database) is \(octal(databaseMode)): others can read who wrote to whom", fix: "chmod 600 \(database)"))
        switch Result(catching: { try HavenStore.schemaVersion(at: database) }) {
        case .success(let version?) where version > HavenStore.schemaVersion:
            findings.append(.problem("the database is schema \(version), newer than this Haven (\(HavenStore.schemaVersion))", fix: "install the newer Haven that wrote it"))
        case .success(let version?) where version < HavenStore.schemaVersion:
            findings.append(.warning("the database is schema \(version); this Haven migrates it to \(HavenStore.schemaVersion) when it starts",
                                     fix: "put backup.pub in \(keys.path) first, so it is backed up before it is migrated"))
        case .success:
            findings.append(.ok("the database's schema is this Haven's (\(HavenStore.schemaVersion))"))
        case .failure(let error):
            findings.append(.problem("the database cannot be read: \(error)", fix: "run doctor as the service's user (sudo -u haven haven doctor …)"))
        }
        return findings
    }

    /// The keys: the organisation's public key, no secret file others can read, the backup key.
    func keyFolder() -> [DoctorFinding] {
        var folder = stat()
        if stat(keys.path, &folder) == 0, access(keys.path, R_OK | X_OK) != 0 {
            return [.problem("\(keys.path) cannot be opened by the service's user: it cannot read its keys",
                             fix: "chown -R haven:haven \(keys.path)")]
        }
        var findings: [DoctorFinding] = []
        switch Result(catching: { try keys.organisationPublicKey() }) {
        case .success: findings.append(.ok("\(keys.organisationPublicKeyPath) holds the organisation's key"))
        case .failure(KeyFileError.missing):
            findings.append(.problem("no \(keys.organisationPublicKeyPath): staff invites cannot be redeemed",
                                     fix: "haven keys init --keys \(keys.path) (as the service's user)"))
        case .failure(let error): findings.append(.problem("\(error)", fix: "haven keys init --keys \(keys.path) (as the service's user)"))
        }
        for secret in [keys.serverKeyPath, keys.organisationKeyPath] {
            guard let fileMode = mode(secret), fileMode & 0o077 != 0 else { continue }
            findings.append(.problem("\(secret) is \(octal(fileMode)): others can read a secret key", fix: "chmod 600 \(secret)"))
        }
        switch Result(catching: { try keys.backupPublicKey() }) {
        case .success:
            findings.append(.ok("\(keys.backupPublicKeyPath) is there: backups, and the backup before an upgrade, are sealed to it"))
        case .failure(KeyFileError.missingBackupKey):
            findings.append(.warning("no \(keys.backupPublicKeyPath): no backups can be made",
                                     fix: "haven backup keygen on another machine; sudo install -o haven -g haven -m 0644 backup.pub \(keys.path)/"))
        case .failure(let error):
            findings.append(.problem("\(error)", fix: "sudo install -o haven -g haven -m 0644 backup.pub \(keys.path)/"))
        }
        if mode(keys.backupKeyPath) != nil {
            findings.append(.problem("the backup key's secret half is on this server: it opens every backup",
                                     fix: "keep it on another machine, and delete it here: shred -u \(keys.backupKeyPath)"))
        }
        // Doctor run as root works as the data folder's owner: what it cannot read, the service cannot.
        for needed in [keys.serverKeyPath, keys.backupPublicKeyPath] where mode(needed) != nil && access(needed, R_OK) != 0 {
            findings.append(.problem("\(needed) cannot be read by the service's user: backups fail",
                                     fix: "chown haven:haven \(needed)"))
        }
        return findings
    }

    /// The newest backup in `folder`, when backups are set up (backup.pub is there).
    func backups(in folder: String?) -> [DoctorFinding] {
        guard let folder, mode(keys.backupPublicKeyPath) != nil else { return [] }
        guard let newest = try? BackupFolder(path: folder).backups().last else {
            return [.warning("no backup in \(folder) yet", fix: "systemctl enable --now haven-backup.timer; systemctl start haven-backup.service")]
        }
        let days = (Int64(Date().timeIntervalSince1970) - newest.madeAt) / 86_400
        return days < 2
            ? [.ok("the newest backup, \(newest.path), is \(days == 0 ? "from today" : "a day old")")]
            : [.warning("the newest backup is \(days) days old: backups have stopped", fix: "journalctl -u haven-backup; systemctl status haven-backup.timer")]
    }

    /// The name, the origins, the proxy, the crisis contacts, the relay, the retention periods.
    func settings() -> [DoctorFinding] {
        var findings: [DoctorFinding] = []
        let placeholder = configuration.serverName == ServerConfiguration().serverName || configuration.serverName.hasSuffix("example.org")
        findings.append(placeholder
            ? .warning("server_name is a placeholder (\"\(configuration.serverName)\")", fix: "set server_name in \(configPath) to the public host name")
            : .ok("server_name is \(configuration.serverName)"))
        let origins = configuration.network.allowedOrigins
        if origins.contains("*") {
            findings.append(.warning("allowed_origins lets any site open Haven", fix: "list the provider's https origins in \(configPath)"))
        } else if origins.contains(where: { $0.hasSuffix("example.org") }) {
            findings.append(.warning("allowed_origins still lists the example's origin", fix: "list the provider's https origins in \(configPath)"))
        } else if let plain = origins.first(where: { $0.hasPrefix("http://") && !$0.contains("://127.0.0.1") && !$0.contains("://localhost") }) {
            findings.append(.warning("allowed_origins has \(plain), without TLS", fix: "use its https:// origin"))
        } else {
            findings.append(.ok(origins.isEmpty ? "only Haven's own origin may open it" : "allowed origins: \(origins.joined(separator: ", "))"))
        }
        findings.append(contentsOf: listening())
        findings.append(configuration.widget.crisisContacts.isEmpty
            ? .warning("no crisis contacts: the crisis button shows general emergency numbers only", fix: "set [widget] crisis_contacts in \(configPath)")
            : .ok("\(configuration.widget.crisisContacts.count) crisis contact(s) set"))
        findings.append(configuration.turn == nil
            ? .warning("no TURN relay: a call would show a member's address to the counsellor, so members take none", fix: "set [turn] (docs/operations.md, Calls)")
            : .ok("calls go through the TURN relay"))
        return findings
    }

    /// How long messages are kept, from the database's settings.
    func retention() -> [DoctorFinding] {
        // Read only from a database of this Haven's schema: opening an older one would migrate it.
        guard (try? HavenStore.schemaVersion(at: configuration.databasePath)) == HavenStore.schemaVersion,
              let store = try? HavenStore(path: configuration.databasePath)
        else { return [] }
        defer { store.close() }
        guard let policy = try? store.performAndWait({ try $0.retentionPolicy() }) else { return [] }
        let forever = [RetentionKind.roomMessages, .directMessages].filter { policy.seconds(for: $0) == nil }
        guard forever.isEmpty else {
            return [.warning("\(forever.map(\.rawValue).joined(separator: " and ")) are kept forever", fix: "haven retention set KIND 30d")]
        }
        return [.ok("expired data is purged every minute while the server runs; the longest period is \(RetentionPeriod.describe(policy.longestSeconds))")]
    }

    /// Free space for the database, and the open-files limit.
    func machine() -> [DoctorFinding] {
        var findings: [DoctorFinding] = []
        if let attributes = try? FileManager.default.attributesOfFileSystem(forPath: configuration.dataDirectory),
           let free = (attributes[.systemFreeSize] as? NSNumber)?.int64Value, let size = (attributes[.systemSize] as? NSNumber)?.int64Value {
            let reserve = Int64(configuration.attachments.reservedFreeBytes)
            let gib = { (bytes: Int64) in String(format: "%.1f GiB", Double(bytes) / 1_073_741_824) }
            findings.append(free < reserve
                ? .problem("\(gib(free)) free for the data folder, under the \(gib(reserve)) kept for messages: attachments are refused", fix: "free space or grow the disk")
                : free < size / 10
                    ? .warning("only \(gib(free)) free for the data folder (under a tenth of the disk)", fix: "free space or grow the disk")
                    : .ok("\(gib(free)) free for the data folder"))
        }
        var limit = rlimit()
        getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
        findings.append(limit.rlim_max < 4096
            ? .warning("this shell may open only \(limit.rlim_max) files (the service's unit raises its own to 65536)", fix: "check LimitNOFILE in haven.service")
            : .ok("open-files limit here: \(limit.rlim_max) (the service's unit sets 65536)"))
        return findings
    }

    /// The server answering on its own address, and, through `url`, over TLS with HSTS.
    /// Where the proxy reaches Haven: a Unix-domain socket only it may open, or a port on this
    /// machine, which any local user could take while Haven restarts.
    private func listening() -> [DoctorFinding] {
        if let socket = configuration.network.unixSocketPath {
            guard let mode = mode(socket) else {
                return [.ok("Haven listens on the Unix-domain socket \(socket), for the proxy in front")]
            }
            guard mode & 0o007 == 0 else {
                return [.problem("\(socket) is \(octal(mode)): any user of this machine could connect as the proxy", fix: "restart haven (it makes the socket 0660)")]
            }
            return [.ok("Haven listens on \(socket) (\(octal(mode))), which only the proxy in its group may open"), socketGroup(socket)]
        }
        let loopback = ["127.0.0.1", "::1", "localhost"].contains(configuration.network.host)
        guard loopback else { return [] }
        if configuration.network.trustedProxies.isEmpty {
            return [.warning("Haven listens on loopback but trusts no proxy: every visitor would share one set of limits",
                             fix: "listen = \"/run/haven/haven.sock\" in \(configPath), the proxy pointed at it (docs/operations.md, TLS in front)")]
        }
        return [.warning("the proxy reaches Haven on \(configuration.network.host):\(configuration.network.port): any user of this machine could take that port while Haven restarts and answer in its place",
                         fix: "listen = \"/run/haven/haven.sock\" in \(configPath), the proxy pointed at it (docs/operations.md, TLS in front)")]
    }

    /// Who may open the socket besides Haven: each is trusted as the proxy.
    private func socketGroup(_ socket: String) -> DoctorFinding {
        var status = stat()
        guard stat(socket, &status) == 0, let group = getgrgid(status.st_gid) else { return .ok("the socket's group is not named") }
        var members: [String] = []
        var next = group.pointee.gr_mem
        while let member = next?.pointee {
            members.append(String(cString: member))
            next = next?.advanced(by: 1)
        }
        // And those whose own group it is (the service's user among them, which is no proxy).
        setpwent()
        while let account = getpwent() {
            let name = String(cString: account.pointee.pw_name)
            if account.pointee.pw_gid == status.st_gid, account.pointee.pw_uid != status.st_uid, !members.contains(name) { members.append(name) }
        }
        endpwent()
        let name = String(cString: group.pointee.gr_name)
        return members.isEmpty
            ? .warning("nobody is in the group \(name), so no proxy can open the socket", fix: "adduser caddy \(name); systemctl restart caddy")
            : .ok("the group \(name) may open the socket, each of them trusted as the proxy: \(members.joined(separator: ", "))")
    }

    func reachability(url: URL?, caFile: String?) -> [DoctorFinding] {
        let host = configuration.network.host == "0.0.0.0" ? "127.0.0.1" : configuration.network.host
        let own: SocketEndpoint = configuration.network.unixSocketPath.map(SocketEndpoint.unix) ?? .tcp(host: host, port: configuration.network.port)
        var findings: [DoctorFinding] = []
        switch Result(catching: { try HTTPProbe.get(own, path: "/healthz", hostHeader: configuration.serverName, tls: nil) }) {
        case .success(let answer) where answer.status == 200: findings.append(.ok("the server answers on \(own)"))
        case .success(let answer): findings.append(.problem("the server answered /healthz with \(answer.status)", fix: "journalctl -u haven"))
        case .failure(let error): findings.append(.problem("no server answers on \(own) (\(error))", fix: "systemctl start haven; journalctl -u haven"))
        }
        guard let url, let name = url.host else { return findings }
        let port = url.port ?? 443
        do {
            let answer = try probeFirstAddress(of: name, port: port, caFile: caFile)
            guard answer.status == 200 else {
                return findings + [.problem("https://\(name):\(port)/healthz answered \(answer.status)", fix: "check the proxy forwards to \(own), and may open it (adduser caddy haven; systemctl restart caddy)")]
            }
            findings.append(.ok("https://\(name):\(port) reaches Haven over TLS, its certificate valid"))
            findings.append(answer.headers["strict-transport-security"] != nil
                ? .ok("browsers are told to keep to TLS (HSTS)")
                : .warning("no HSTS through the proxy: Haven does not trust it, or it sends no X-Forwarded-Proto", fix: "trusted_proxies in \(configPath); the proxy example in /usr/share/doc/haven/examples"))
        } catch {
            findings.append(.problem("https://\(name):\(port) cannot be reached over TLS: \(error)", fix: "check the proxy, its certificate and the name's DNS"))
        }
        return findings
    }

    /// `/healthz` over TLS from the first of `name`'s addresses that takes a connection (the proxy
    /// may listen on IPv4 only while the name resolves to IPv6 first): a certificate or an answer
    /// that is wrong is reported, never passed over for the next address.
    private func probeFirstAddress(of name: String, port: Int, caFile: String?) throws -> HTTPProbe.Answer {
        let hosts = try ServerAddress("wss://\(name):\(port)").resolvedHosts()
        let tls = TLSClientSettings(serverName: name, caFile: caFile)
        for host in hosts.dropLast() {
            do {
                return try HTTPProbe.get(.tcp(host: host, port: port), path: "/healthz", hostHeader: name, tls: tls)
            } catch let failure as HTTPProbe.Failure where failure.isUnreachable {
                continue
            }
        }
        return try HTTPProbe.get(.tcp(host: hosts[hosts.count - 1], port: port), path: "/healthz", hostHeader: name, tls: tls)
    }
}
