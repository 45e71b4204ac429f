import Foundation
import HavenNet
import HavenProtocol
import HavenServer
import HavenStore
import Redis
import TOMLKit

/// The optional TOML file `haven serve --config` reads; flags override it. Every key is optional.
///
/// ```toml
/// listen = "127.0.0.1:8080"
/// data = "./data"
/// backups = "./data/backups"   # the backup taken before an upgrade migrates the database
/// server_name = "support.example.org"
/// allowed_origins = ["https://support.example.org"]
/// trusted_proxies = ["127.0.0.1"]   # a reverse proxy whose X-Forwarded-For names the client
/// synchronous = "full"          # or "normal"
/// loops = 4                     # event loops for connections (default: one per core)
///
/// [store]
/// backend = "postgres"          # or "sqlite" (the default: haven.sqlite in `data`)
/// url = "postgres://haven@db.internal:5432/haven"   # a password belongs in ~/.pgpass or PGPASSFILE
///
/// [cluster]
/// redis = "redis://cache.internal:6379"   # nodes sharing the PostgreSQL store tell each other what they commit
///
/// [[rooms]]
/// id = "lobby"
/// name = "Lobby"
///
/// [limits]
/// max_message_bytes = 163840
/// max_queued_bytes = 1048576
/// login_timeout_ms = 10000
/// idle_timeout_ms = 75000
/// max_database_bytes = 10737418240   # writes past it are refused as not stored
/// max_connections_per_network = 64    # open at once from one IPv4 address or IPv6 /64
/// max_store_backlog = 4096            # store operations waiting before new messages are refused for a moment
///
/// [attachments]                 # what visitors may upload
/// uploads_per_hour = 30.0       # per identity...
/// bytes_per_hour = 104857600.0
/// address_uploads_per_hour = 120.0   # ...and per client address, whatever identities it uses
/// address_bytes_per_hour = 419430400.0
/// stored_per_identity = 200
/// stored_bytes_per_identity = 209715200
/// total_bytes = 4294967296      # all attachments together (default: half of max_database_bytes, or 4 GiB)
/// reserved_free_bytes = 1073741824   # free disk kept for messages
/// uploads_at_once = 256         # bodies arriving at once (each goes to the store as it arrives)...
/// address_uploads_at_once = 3   # ...and from one client address
///
/// [proof_of_work]               # asked of a new identity at login
/// base_bits = 15                # normally (a phone pays about a quarter of a second); 0: none
/// max_bits = 20                 # the most ever asked
/// flood_new_identities_per_minute = 30.0   # past it, one more bit each time the rate doubles
///
/// [widget]                      # how the provider presents the web widget
/// name = "Riverside Support"
/// colour = "#2d5b8a"
/// rules = ["Be kind.", "Do not share personal details."]
/// crisis_contacts = [{ name = "Samaritans", contact = "116 123" }]
/// rooms = ["lobby"]             # the rooms shown (default: all open rooms)
/// quick_exit_url = "https://www.bbc.co.uk/weather"   # where "quick exit" goes
/// opening_hours = "every evening, 6 pm to 2 am"      # when counsellors are usually online
///
/// [metrics]                     # /metrics is served to this machine; elsewhere only with the token
/// token_file = "/etc/haven/metrics.token"  # mode 0600, like every secret file
///
/// [turn]                        # coturn with use-auth-secret, for calls
/// urls = ["turn:turn.example.org:3478"]
/// secret_file = "/etc/haven/turn.secret"   # the same secret as coturn's static-auth-secret
/// ttl_seconds = 300             # for making a relay allocation; the allocation lasts the call
/// relay_only = false            # true: counsellors' browsers too use only the relay (members' always do)
///
/// [calls]
/// audit = false                 # true: record that a call happened (who, when); never its content
/// ring_timeout_seconds = 45
/// decline_cooldown_seconds = 120
/// rings_per_minute = 5.0
/// address_rings_per_minute = 10.0   # members' rings per client address, whatever identities ring
///
/// [rate_limits]                 # token buckets: a rate per second and a burst
/// messages_per_second = 5.0
/// message_burst = 20.0
/// new_identity_messages_per_second = 1.0
/// new_identity_message_burst = 8.0
/// new_identity_window_seconds = 300.0
/// address_messages_per_second = 50.0
/// address_message_burst = 200.0
/// address_connections_per_second = 2.0
/// address_connection_burst = 60.0
/// frames_per_second = 10.0      # every other frame per connection (lists, tokens, call signals...)
/// frame_burst = 60.0
/// new_identity_frames_per_second = 4.0
/// new_identity_frame_burst = 40.0
/// address_frames_per_second = 100.0
/// address_frame_burst = 600.0
/// key_bundles_per_second = 50.0   # per connection: one per member of a room at each new epoch
/// key_bundle_burst = 500.0
/// message_bytes_per_hour = 52428800.0           # bytes of messages one identity stores per hour...
/// new_identity_message_bytes_per_hour = 5242880.0   # ...in its first minutes...
/// address_message_bytes_per_hour = 104857600.0  # ...and one address, whatever identities it uses
/// reports_per_minute = 6.0      # per identity (and address_reports_per_minute per network)
/// report_burst = 10.0
/// address_requests_per_second = 20.0   # plain HTTP requests per client address
/// address_request_burst = 200.0
/// address_replays_at_once = 4         # histories replayed at once per client address; others wait
/// replay_stall_seconds = 30.0          # a client that reads none of its history this long is let go
/// replay_turn_seconds = 5.0            # a replay this long hands its turn to the next one waiting
/// ```
struct ServeConfigFile: Decodable {
    struct Room: Decodable {
        var id: String
        var name: String
    }

    struct Limits: Decodable {
        var maxMessageBytes: Int?
        var maxQueuedBytes: Int?
        var loginTimeoutMs: UInt64?
        var idleTimeoutMs: UInt64?
        var maxDatabaseBytes: Int?
        var maxConnectionsPerNetwork: Int?
        var maxStoreBacklog: Int?

        enum CodingKeys: String, CodingKey {
            case maxDatabaseBytes = "max_database_bytes", maxConnectionsPerNetwork = "max_connections_per_network"
            case maxStoreBacklog = "max_store_backlog"
            case maxMessageBytes = "max_message_bytes", maxQueuedBytes = "max_queued_bytes"
            case loginTimeoutMs = "login_timeout_ms", idleTimeoutMs = "idle_timeout_ms"
        }
    }

    struct RateLimits: Decodable {
        var messagesPerSecond: Double?
        var messageBurst: Double?
        var newIdentityMessagesPerSecond: Double?
        var newIdentityMessageBurst: Double?
        var newIdentityWindowSeconds: Double?
        var addressMessagesPerSecond: Double?
        var addressMessageBurst: Double?
        var addressConnectionsPerSecond: Double?
        var addressConnectionBurst: Double?
        var framesPerSecond: Double?
        var frameBurst: Double?
        var newIdentityFramesPerSecond: Double?
        var newIdentityFrameBurst: Double?
        var addressFramesPerSecond: Double?
        var addressFrameBurst: Double?
        var addressRequestsPerSecond: Double?
        var addressRequestBurst: Double?
        var addressReplaysAtOnce: Int?
        var replayStallSeconds: Double?
        var replayTurnSeconds: Double?
        var keyBundlesPerSecond: Double?
        var keyBundleBurst: Double?
        var messageBytesPerHour: Double?
        var newIdentityMessageBytesPerHour: Double?
        var addressMessageBytesPerHour: Double?
        var reportsPerMinute: Double?
        var reportBurst: Double?

        enum CodingKeys: String, CodingKey {
            case messagesPerSecond = "messages_per_second", messageBurst = "message_burst"
            case newIdentityMessagesPerSecond = "new_identity_messages_per_second"
            case newIdentityMessageBurst = "new_identity_message_burst"
            case newIdentityWindowSeconds = "new_identity_window_seconds"
            case addressMessagesPerSecond = "address_messages_per_second"
            case addressMessageBurst = "address_message_burst"
            case addressConnectionsPerSecond = "address_connections_per_second"
            case addressConnectionBurst = "address_connection_burst"
            case framesPerSecond = "frames_per_second", frameBurst = "frame_burst"
            case newIdentityFramesPerSecond = "new_identity_frames_per_second", newIdentityFrameBurst = "new_identity_frame_burst"
            case addressFramesPerSecond = "address_frames_per_second", addressFrameBurst = "address_frame_burst"
            case addressRequestsPerSecond = "address_requests_per_second", addressRequestBurst = "address_request_burst"
            case addressReplaysAtOnce = "address_replays_at_once", replayStallSeconds = "replay_stall_seconds"
            case replayTurnSeconds = "replay_turn_seconds"
            case keyBundlesPerSecond = "key_bundles_per_second", keyBundleBurst = "key_bundle_burst"
            case messageBytesPerHour = "message_bytes_per_hour", newIdentityMessageBytesPerHour = "new_identity_message_bytes_per_hour"
            case addressMessageBytesPerHour = "address_message_bytes_per_hour"
            case reportsPerMinute = "reports_per_minute", reportBurst = "report_burst"
        }

        func apply(to limits: inout RateLimitSettings) {
            if let messagesPerSecond { limits.messagesPerSecond = messagesPerSecond }
            if let messageBurst { limits.messageBurst = messageBurst }
            if let newIdentityMessagesPerSecond { limits.newIdentityMessagesPerSecond = newIdentityMessagesPerSecond }
            if let newIdentityMessageBurst { limits.newIdentityMessageBurst = newIdentityMessageBurst }
            if let newIdentityWindowSeconds { limits.newIdentityWindowSeconds = newIdentityWindowSeconds }
            if let addressMessagesPerSecond { limits.addressMessagesPerSecond = addressMessagesPerSecond }
            if let addressMessageBurst { limits.addressMessageBurst = addressMessageBurst }
            if let addressConnectionsPerSecond { limits.addressConnectionsPerSecond = addressConnectionsPerSecond }
            if let addressConnectionBurst { limits.addressConnectionBurst = addressConnectionBurst }
            if let framesPerSecond { limits.framesPerSecond = framesPerSecond }
            if let frameBurst { limits.frameBurst = frameBurst }
            if let newIdentityFramesPerSecond { limits.newIdentityFramesPerSecond = newIdentityFramesPerSecond }
            if let newIdentityFrameBurst { limits.newIdentityFrameBurst = newIdentityFrameBurst }
            if let addressFramesPerSecond { limits.addressFramesPerSecond = addressFramesPerSecond }
            if let addressFrameBurst { limits.addressFrameBurst = addressFrameBurst }
            if let addressRequestsPerSecond { limits.addressRequestsPerSecond = addressRequestsPerSecond }
            if let addressRequestBurst { limits.addressRequestBurst = addressRequestBurst }
            if let addressReplaysAtOnce { limits.addressReplaysAtOnce = addressReplaysAtOnce }
            if let replayStallSeconds { limits.replayStallSeconds = replayStallSeconds }
            if let replayTurnSeconds { limits.replayTurnSeconds = replayTurnSeconds }
            if let keyBundlesPerSecond { limits.keyBundlesPerSecond = keyBundlesPerSecond }
            if let keyBundleBurst { limits.keyBundleBurst = keyBundleBurst }
            if let messageBytesPerHour { limits.messageBytesPerHour = messageBytesPerHour }
            if let newIdentityMessageBytesPerHour { limits.newIdentityMessageBytesPerHour = newIdentityMessageBytesPerHour }
            if let addressMessageBytesPerHour { limits.addressMessageBytesPerHour = addressMessageBytesPerHour }
            if let reportsPerMinute { limits.reportsPerMinute = reportsPerMinute }
            if let reportBurst { limits.reportBurst = reportBurst }
        }
    }

    struct ProofOfWork: Decodable {
        var baseBits: Int?
        var maxBits: Int?
        var floodNewIdentitiesPerMinute: Double?

        enum CodingKeys: String, CodingKey {
            case baseBits = "base_bits", maxBits = "max_bits", floodNewIdentitiesPerMinute = "flood_new_identities_per_minute"
        }

        func apply(to settings: inout ProofOfWorkSettings) throws {
            if let baseBits { settings.baseBits = baseBits }
            if let maxBits { settings.maxBits = maxBits }
            if let floodNewIdentitiesPerMinute { settings.floodNewIdentitiesPerMinute = floodNewIdentitiesPerMinute }
            // Clients do at most ProofOfWork.maxBits, whatever they are asked.
            guard (0...HavenProtocol.ProofOfWork.maxBits).contains(settings.baseBits), (settings.baseBits...HavenProtocol.ProofOfWork.maxBits).contains(settings.maxBits) else {
                throw ConfigError("[proof_of_work] needs 0 <= base_bits <= max_bits <= \(HavenProtocol.ProofOfWork.maxBits) (clients do no more)")
            }
        }
    }

    struct Attachments: Decodable {
        var uploadsPerHour: Double?
        var bytesPerHour: Double?
        var addressUploadsPerHour: Double?
        var addressBytesPerHour: Double?
        var storedPerIdentity: Int?
        var storedBytesPerIdentity: Int?
        var totalBytes: Int?
        var reservedFreeBytes: Int?
        var uploadsAtOnce: Int?
        var addressUploadsAtOnce: Int?

        enum CodingKeys: String, CodingKey {
            case uploadsPerHour = "uploads_per_hour", bytesPerHour = "bytes_per_hour"
            case addressUploadsPerHour = "address_uploads_per_hour", addressBytesPerHour = "address_bytes_per_hour"
            case storedPerIdentity = "stored_per_identity", storedBytesPerIdentity = "stored_bytes_per_identity"
            case totalBytes = "total_bytes", reservedFreeBytes = "reserved_free_bytes"
            case uploadsAtOnce = "uploads_at_once", addressUploadsAtOnce = "address_uploads_at_once"
        }

        func apply(to quotas: inout AttachmentQuotas) {
            if let uploadsPerHour { quotas.uploadsPerHour = uploadsPerHour }
            if let bytesPerHour { quotas.bytesPerHour = bytesPerHour }
            if let addressUploadsPerHour { quotas.addressUploadsPerHour = addressUploadsPerHour }
            if let addressBytesPerHour { quotas.addressBytesPerHour = addressBytesPerHour }
            if let storedPerIdentity { quotas.storedPerIdentity = storedPerIdentity }
            if let storedBytesPerIdentity { quotas.storedBytesPerIdentity = storedBytesPerIdentity }
            if let totalBytes { quotas.totalBytes = totalBytes }
            if let reservedFreeBytes { quotas.reservedFreeBytes = reservedFreeBytes }
            if let uploadsAtOnce { quotas.uploadsAtOnce = uploadsAtOnce }
            if let addressUploadsAtOnce { quotas.addressUploadsAtOnce = addressUploadsAtOnce }
        }
    }

    struct Widget: Decodable {
        struct Contact: Decodable {
            var name: String
            var contact: String
        }
        var name: String?
        var colour: String?
        var logo: String?
        var rules: [String]?
        var crisisContacts: [Contact]?
        var rooms: [String]?
        var quickExitURL: String?
        var openingHours: String?

        enum CodingKeys: String, CodingKey {
            case name, colour, logo, rules, rooms
            case crisisContacts = "crisis_contacts", quickExitURL = "quick_exit_url", openingHours = "opening_hours"
        }

        func apply(to settings: inout WidgetSettings) throws {
            if let name { settings.name = name }
            if let colour {
                guard colour.count == 7, colour.hasPrefix("#"), colour.dropFirst().allSatisfy(\.isHexDigit) else {
                    throw ConfigError("widget colour must be #rrggbb (got \"\(colour)\")")
                }
                settings.colour = colour
            }
            if let logo { settings.logo = logo }
            if let rules { settings.rules = rules }
            if let crisisContacts { settings.crisisContacts = crisisContacts.map { WidgetSettings.Contact(name: $0.name, contact: $0.contact) } }
            if let rooms { settings.rooms = rooms }
            if let openingHours { settings.openingHours = openingHours }
            if let quickExitURL {
                guard quickExitURL.hasPrefix("https://") || quickExitURL.hasPrefix("/") else {
                    throw ConfigError("widget quick_exit_url must be an https:// address or a path on this site (got \"\(quickExitURL)\")")
                }
                settings.quickExitURL = quickExitURL
            }
        }
    }

    struct Turn: Decodable {
        var urls: [String]
        var secretFile: String
        var ttlSeconds: Int?
        var relayOnly: Bool?

        enum CodingKeys: String, CodingKey {
            case urls
            case secretFile = "secret_file", ttlSeconds = "ttl_seconds", relayOnly = "relay_only"
        }

        func settings() throws -> TurnSettings {
            let secret: [UInt8]
            do { secret = try SecretFile.read(secretFile, what: "the TURN secret") } catch { throw ConfigError(error.description) }
            return TurnSettings(urls: urls, secret: secret, ttlSeconds: ttlSeconds ?? 300, relayOnly: relayOnly ?? false)
        }
    }

    /// `/metrics` for a scraper elsewhere than this machine.
    struct Metrics: Decodable {
        var tokenFile: String

        enum CodingKeys: String, CodingKey { case tokenFile = "token_file" }
    }

    var listen: String?
    var data: String?
    var metrics: Metrics?
    var widget: Widget?
    var turn: Turn?
    var serverName: String?
    /// Where the backup taken before an upgrade migrates the database goes.
    var backups: String?
    var allowedOrigins: [String]?
    var trustedProxies: [String]?
    var synchronous: String?
    var loops: Int?
    var rooms: [Room]?
    var limits: Limits?
    var rateLimits: RateLimits?
    var attachments: Attachments?
    var proofOfWork: ProofOfWork?
    var calls: Calls?
    var store: Store?
    var cluster: Cluster?

    struct Cluster: Decodable {
        var redis: String?
    }

    struct Store: Decodable {
        var backend: String?
        var url: String?

        /// The database these keys name (nil: the default SQLite file).
        func location() throws -> StoreLocation? {
            switch backend ?? (url == nil ? "sqlite" : "postgres") {
            case "sqlite":
                guard url == nil else { throw ConfigError("[store] url is for backend = \"postgres\"; SQLite's file is haven.sqlite in `data`") }
                return nil
            case "postgres":
                guard let url, case .postgres = StoreLocation(url) else {
                    throw ConfigError("[store] backend = \"postgres\" needs url = \"postgres://user@host:5432/database\"")
                }
                return .postgres(url: url)
            case let other:
                throw ConfigError("[store] backend must be \"sqlite\" or \"postgres\" (got \"\(other)\")")
            }
        }
    }

    struct Calls: Decodable {
        var audit: Bool?
        var ringTimeoutSeconds: Int64?
        var declineCooldownSeconds: Int64?
        var ringsPerMinute: Double?
        var addressRingsPerMinute: Double?

        enum CodingKeys: String, CodingKey {
            case audit
            case ringTimeoutSeconds = "ring_timeout_seconds", declineCooldownSeconds = "decline_cooldown_seconds"
            case ringsPerMinute = "rings_per_minute", addressRingsPerMinute = "address_rings_per_minute"
        }

        func apply(to settings: inout CallSettings) {
            if let audit { settings.audit = audit }
            if let ringTimeoutSeconds { settings.ringTimeoutSeconds = ringTimeoutSeconds }
            if let declineCooldownSeconds { settings.declineCooldownSeconds = declineCooldownSeconds }
            if let ringsPerMinute { settings.ringsPerMinute = ringsPerMinute }
            if let addressRingsPerMinute {
                settings.addressRingsPerMinute = addressRingsPerMinute
                settings.addressRingBurst = addressRingsPerMinute
            }
        }
    }

    enum CodingKeys: String, CodingKey {
        case listen, data, backups, rooms, limits, synchronous, loops, widget, turn, calls, metrics, attachments, store, cluster
        case serverName = "server_name", allowedOrigins = "allowed_origins", rateLimits = "rate_limits", proofOfWork = "proof_of_work"
        case trustedProxies = "trusted_proxies"
    }

    /// Reads and decodes `path`.
    static func load(_ path: String) throws -> ServeConfigFile {
        let text: String
        do {
            text = try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw ConfigError("cannot read config file \(path)")
        }
        do {
            return try TOMLDecoder().decode(ServeConfigFile.self, from: text)
        } catch let error as TOMLParseError {
            throw ConfigError("config file \(path) is not valid TOML (line \(error.source.begin.line)): \(error.description)")
        } catch {
            throw ConfigError("config file \(path) has an unexpected value: \(error)")
        }
    }

    /// Applies every key present to `configuration`.
    func apply(to configuration: inout ServerConfiguration) throws {
        if let listen { try configuration.setListen(listen) }
        if let data { configuration.dataDirectory = data }
        if let store { configuration.database = try store.location() }
        if let redis = cluster?.redis { try configuration.setRedis(redis) }
        if let serverName { configuration.serverName = serverName }
        if let allowedOrigins { configuration.network.allowedOrigins = allowedOrigins }
        if let trustedProxies {
            configuration.network.trustedProxies = try trustedProxies.map { text in
                guard let bytes = IPAddress.bytes(text) else { throw ConfigError("trusted_proxies lists \"\(text)\", which is not an IP address") }
                return bytes
            }
        }
        if let synchronous { try configuration.setSynchronous(synchronous) }
        if let loops { try configuration.setLoops(loops) }
        if let rooms { configuration.rooms = rooms.map { RoomSeed(id: $0.id, name: $0.name) } }
        if let limits {
            if let value = limits.maxMessageBytes { configuration.network.maxMessageBytes = value }
            if let value = limits.maxQueuedBytes { configuration.network.maxQueuedBytes = value }
            if let value = limits.loginTimeoutMs { configuration.loginTimeoutMilliseconds = value }
            if let value = limits.idleTimeoutMs { configuration.network.idleTimeoutMilliseconds = value }
            if let value = limits.maxDatabaseBytes { configuration.store.maxDatabaseBytes = value }
            if let value = limits.maxConnectionsPerNetwork { configuration.network.maxConnectionsPerNetwork = value }
            if let value = limits.maxStoreBacklog { configuration.maxStoreBacklog = max(1, value) }
        }
        rateLimits?.apply(to: &configuration.rateLimits)
        attachments?.apply(to: &configuration.attachments)
        try proofOfWork?.apply(to: &configuration.proofOfWork)
        try widget?.apply(to: &configuration.widget)
        if let turn { configuration.turn = try turn.settings() }
        calls?.apply(to: &configuration.calls)
        if let metrics {
            do { configuration.metricsToken = try SecretFile.read(metrics.tokenFile, what: "the metrics token") } catch { throw ConfigError(error.description) }
        }
    }
}

/// A configuration mistake, reported as one line.
struct ConfigError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

extension ServerConfiguration {
    /// Sets host and port from "HOST:PORT" (IPv6 as "[::1]:8080"), or the Unix-domain socket
    /// from an absolute path ("/run/haven/haven.sock", for a reverse proxy on this machine).
    mutating func setListen(_ text: String) throws {
        if text.hasPrefix("/") {
            guard text.utf8.count < 108 else { throw ConfigError("--listen: a socket path must be shorter than 108 bytes (got \(text.utf8.count))") }
            network.unixSocketPath = text
            return
        }
        network.unixSocketPath = nil
        guard let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...]), (0...65535).contains(port) else {
            throw ConfigError("--listen must be HOST:PORT, e.g. 127.0.0.1:8080, or a socket's path, e.g. /run/haven/haven.sock (got \"\(text)\")")
        }
        var host = String(text[..<colon])
        if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        guard !host.isEmpty else { throw ConfigError("--listen needs a host, e.g. 127.0.0.1:\(port)") }
        network.host = host
        network.port = port
    }

    /// Sets the store's durability from "full" or "normal".
    mutating func setSynchronous(_ text: String) throws {
        guard let level = StoreSettings.Synchronous(rawValue: text.uppercased()) else {
            throw ConfigError("synchronous must be \"full\" or \"normal\" (got \"\(text)\")")
        }
        store.synchronous = level
    }

    /// Sets the Redis server the nodes share, from `redis://host:port` or a socket's path.
    mutating func setRedis(_ text: String) throws {
        do { cluster = ClusterSettings(redis: try RedisAddress(text)) } catch { throw ConfigError("[cluster] redis: \(error)") }
    }

    /// Sets the number of event loops: from 1 to 256.
    mutating func setLoops(_ count: Int) throws {
        guard (1...256).contains(count) else { throw ConfigError("loops must be from 1 to 256 (got \(count))") }
        loops = count
    }
}
