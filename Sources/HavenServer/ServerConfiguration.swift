import Foundation
public import HavenNet
public import HavenStore
public import Sodium

/// Everything `haven serve` can be told, from flags or the TOML config file.
public struct ServerConfiguration: Sendable {
    /// Listening address, WebSocket path, allowed origins and network limits. With several
    /// ``loops``, `maxConnections` is shared out evenly among them, and `maxConnectionsPerNetwork`
    /// holds on each loop.
    public var network = WebSocketServerConfiguration()
    /// Event loops, each on a thread of its own, that accept, read, decode, check and write
    /// connections (the kernel spreads new connections over them); the first also runs the
    /// server's core, where every decision is made. `haven serve` runs one per core.
    public var loops = 1
    /// The folder holding the database (`haven.sqlite`) when ``database`` names none.
    public var dataDirectory = "./data"
    /// A database elsewhere than ``dataDirectory``'s SQLite file: a PostgreSQL database that
    /// several nodes share (nil: `haven.sqlite` in ``dataDirectory``).
    public var database: StoreLocation?
    /// The Redis server through which nodes sharing ``database`` (PostgreSQL) tell each other
    /// what they commit (nil: this node is alone).
    public var cluster: ClusterSettings?
    /// Durability of the store.
    public var store = StoreSettings()
    /// The name clients sign into login (see docs/crypto.md); set it to the public origin.
    public var serverName = "haven"
    /// Open support rooms created at start if missing: (id, display name).
    public var rooms: [RoomSeed] = [RoomSeed(id: "lobby", name: "Lobby")]
    /// Rate limits.
    public var rateLimits = RateLimitSettings()
    /// How much visitors may upload.
    public var attachments = AttachmentQuotas()
    /// The proof of work new identities show at login.
    public var proofOfWork = ProofOfWorkSettings()
    /// Time a client has from the WebSocket opening to a successful login.
    public var loginTimeoutMilliseconds: UInt64 = 10_000
    /// A token that lets a scraper elsewhere than this machine read `/metrics` (loopback needs none).
    public var metricsToken: [UInt8]?
    /// How long a member waiting for a counsellor keeps their place after their connection drops.
    public var waitingGraceMilliseconds: UInt64 = 60_000
    /// Store operations waiting at most before new messages are refused as `rate_limited` (with
    /// a retry hint): past it the server slows its senders down instead of queueing without end.
    public var maxStoreBacklog = 4096
    /// Messages from one connection waiting for the store at most: then the connection is not
    /// read until half of them are answered, so a sender faster than the store waits in the
    /// network instead of being read, decoded and refused.
    public var messagesAwaitingStorePerConnection = 64
    /// Protocol errors an authenticated client may make before it is disconnected.
    public var maxProtocolErrors = 50
    /// How often the retention purge runs.
    public var retentionIntervalMilliseconds: UInt64 = 60_000
    /// Rows of each kind one purge pass may delete (passes repeat until done, between other work).
    public var retentionBatch = 500
    /// How often rooms created, changed or archived with the CLI are picked up.
    public var roomReloadMilliseconds: UInt64 = 5_000
    /// The organisation's public key (Keys/organisation.pub), against which staff certificates
    /// are checked when invites are redeemed; without it, invites cannot be redeemed.
    public var organisationPublicKey: SigningPublicKey?
    /// The web widget's files, served at `/` (none: only the JSON index is served there).
    public var web: WebRoot?
    /// How the provider presents the widget.
    public var widget = WidgetSettings()
    /// The TURN relay for calls (none: calls use direct connections only).
    public var turn: TurnSettings?
    /// Ringing limits and whether calls are audited.
    public var calls = CallSettings()
    /// The wall clock in seconds since 1970 (tests move it).
    public var now: @Sendable () -> Int64 = { Int64(Date().timeIntervalSince1970) }

    /// The defaults: 127.0.0.1:8080, ./data, one "lobby" room.
    public init() {
        network.port = 8080
    }

    /// The database file inside ``dataDirectory``.
    public var databasePath: String { dataDirectory + "/haven.sqlite" }

    /// Where the store is: ``database``, or the SQLite file in ``dataDirectory``.
    public var storeLocation: StoreLocation { database ?? .sqlite(path: databasePath) }
}

/// A room to create at start.
public struct RoomSeed: Sendable, Equatable {
    /// The room id (`a-z 0-9 _ -`).
    public var id: String
    /// The display name.
    public var name: String

    /// Creates a seed.
    public init(id: String, name: String) {
        self.id = id
        self.name = name
    }
}

/// Token-bucket limits: a steady rate per second and a burst.
public struct RateLimitSettings: Sendable, Equatable {
    /// Messages (room and direct) per identity.
    public var messagesPerSecond = 5.0
    /// Burst of messages per identity.
    public var messageBurst = 20.0
    /// Messages per identity first seen less than ``newIdentityWindowSeconds`` ago.
    public var newIdentityMessagesPerSecond = 1.0
    /// Burst for new identities.
    public var newIdentityMessageBurst = 8.0
    /// How long an identity counts as new.
    public var newIdentityWindowSeconds = 300.0
    /// Bytes of messages (room, private, reports) one identity may store per hour...
    public var messageBytesPerHour = 50.0 * 1024 * 1024
    /// ...in its first ``newIdentityWindowSeconds``...
    public var newIdentityMessageBytesPerHour = 5.0 * 1024 * 1024
    /// ...and one client address, whatever identities it uses.
    public var addressMessageBytesPerHour = 100.0 * 1024 * 1024
    /// Messages per client address (keyed hash of it, in memory only).
    public var addressMessagesPerSecond = 50.0
    /// Burst per client address.
    public var addressMessageBurst = 200.0
    /// New connections per client address per second.
    public var addressConnectionsPerSecond = 2.0
    /// Burst of new connections per client address.
    public var addressConnectionBurst = 60.0
    /// Reports per identity per minute...
    public var reportsPerMinute = 6.0
    /// ...and as a burst.
    public var reportBurst = 10.0
    /// Reports per client address per minute, whatever identities it uses...
    public var addressReportsPerMinute = 10.0
    /// ...and as a burst.
    public var addressReportBurst = 20.0
    /// Joins and leaves of rooms per connection per second...
    public var roomChangesPerSecond = 1.0
    /// ...and as a burst (enough to rejoin every room after a reconnect).
    public var roomChangeBurst = 20.0
    /// Places in the line to a counsellor one client address may hold at once.
    public var addressPlacesInLine = 5
    /// Every other frame (lists, tokens, call signals, places in line...) per connection per
    /// second, for identities past their first ``newIdentityWindowSeconds``...
    public var framesPerSecond = 10.0
    /// ...and as a burst.
    public var frameBurst = 60.0
    /// The same for new identities...
    public var newIdentityFramesPerSecond = 4.0
    /// ...and as a burst.
    public var newIdentityFrameBurst = 40.0
    /// Epoch key bundles per connection per second (one per member of a room at each new epoch)...
    public var keyBundlesPerSecond = 50.0
    /// ...and as a burst.
    public var keyBundleBurst = 500.0
    /// Every frame from one client address, per second...
    public var addressFramesPerSecond = 100.0
    /// ...and as a burst.
    public var addressFrameBurst = 600.0
    /// Room log entries per identity (joins, leaves, epochs, moderation entries).
    public var logEntriesPerSecond = 1.0
    /// Burst of room log entries per identity.
    public var logEntryBurst = 10.0
    /// Plain HTTP requests (the widget's files, attachments, availability) per client address
    /// per second...
    public var addressRequestsPerSecond = 20.0
    /// ...and as a burst (the widget loads a few dozen files at once).
    public var addressRequestBurst = 200.0
    /// Replays of stored history (a room's on joining, private messages on reconnecting) one
    /// client address may have running at once; the rest wait their turn.
    public var addressReplaysAtOnce = 4
    /// A replay that has run this long hands its turn to the next one waiting from its address
    /// and waits again, so a slow reader with a long history shares the turns.
    public var replayTurnSeconds = 5.0
    /// A client whose replay has waited this long for it to read is disconnected (it holds no
    /// turn meanwhile, but its connection and its place in the history stay open).
    public var replayStallSeconds = 30.0
    /// Refused messages in a row after which a client is disconnected.
    public var maxStrikes = 50

    /// The defaults above.
    public init() {}

    /// Limits high enough not to matter, for benchmarks driving many clients from one address.
    public static let unlimited: RateLimitSettings = {
        var settings = RateLimitSettings()
        settings.messagesPerSecond = 1e9
        settings.messageBurst = 1e9
        settings.newIdentityMessagesPerSecond = 1e9
        settings.newIdentityMessageBurst = 1e9
        settings.addressMessagesPerSecond = 1e9
        settings.addressMessageBurst = 1e9
        settings.addressConnectionsPerSecond = 1e9
        settings.addressConnectionBurst = 1e9
        settings.addressReportsPerMinute = 1e9
        settings.roomChangesPerSecond = 1e9
        settings.roomChangeBurst = 1e9
        settings.addressReportBurst = 1e9
        settings.reportsPerMinute = 1e9
        settings.reportBurst = 1e9
        settings.logEntriesPerSecond = 1e9
        settings.logEntryBurst = 1e9
        settings.keyBundlesPerSecond = 1e9
        settings.keyBundleBurst = 1e9
        settings.framesPerSecond = 1e9
        settings.frameBurst = 1e9
        settings.newIdentityFramesPerSecond = 1e9
        settings.newIdentityFrameBurst = 1e9
        settings.addressFramesPerSecond = 1e9
        settings.addressFrameBurst = 1e9
        settings.addressRequestsPerSecond = 1e9
        settings.addressRequestBurst = 1e9
        settings.addressReplaysAtOnce = 1_000_000
        settings.messageBytesPerHour = 1e15
        settings.newIdentityMessageBytesPerHour = 1e15
        settings.addressMessageBytesPerHour = 1e15
        return settings
    }()
}

/// The proof of work a new identity shows at login (``ProofOfWork``): a phone pays well under a
/// second at the base; while new identities flood in, each doubling of their rate past the
/// threshold asks one more bit (twice the work), up to the maximum.
public struct ProofOfWorkSettings: Sendable, Equatable {
    /// Bits asked normally (0: no proof of work): about 33,000 hashes, a quarter of a second on a
    /// phone on average (docs/operations.md, `node Scripts/bench-proof-of-work.mjs`).
    public var baseBits = 15
    /// The most bits ever asked.
    public var maxBits = 20
    /// New identities per minute past which the work rises.
    public var floodNewIdentitiesPerMinute = 30.0

    /// The defaults above.
    public init() {}

    /// No proof of work, for benchmarks that log in thousands of identities.
    public static let off: ProofOfWorkSettings = {
        var settings = ProofOfWorkSettings()
        settings.baseBits = 0
        return settings
    }()
}

/// How much visitors may upload: per identity and per client address each hour, per identity in
/// total, and for everyone together, so that attachments never take the space messages need.
public struct AttachmentQuotas: Sendable, Equatable {
    /// Attachments one identity may upload per hour...
    public var uploadsPerHour = 30.0
    /// ...and bytes.
    public var bytesPerHour = 100.0 * 1024 * 1024
    /// Attachments one client address may upload per hour, whatever identities it uses...
    public var addressUploadsPerHour = 120.0
    /// ...and bytes.
    public var addressBytesPerHour = 400.0 * 1024 * 1024
    /// Uploads whose bodies may be arriving at once (each holds at most one 64 KiB part in memory;
    /// the rest goes to the store as it arrives)...
    public var uploadsAtOnce = 256
    /// ...and from one client address.
    public var addressUploadsAtOnce = 3
    /// Bytes of attachments one client address may download per hour (each download reads the
    /// store and fills the network)...
    public var addressDownloadBytesPerHour = 2.0 * 1024 * 1024 * 1024
    /// Attachments one identity may have stored at once...
    public var storedPerIdentity = 200
    /// ...and bytes.
    public var storedBytesPerIdentity = 200 * 1024 * 1024
    /// Bytes all attachments together may take (nil: half the database ceiling when one is set,
    /// otherwise 4 GiB).
    public var totalBytes: Int?
    /// Free space on the data folder's disk kept for messages: uploads that would leave less are
    /// refused.
    public var reservedFreeBytes = 1024 * 1024 * 1024

    /// The defaults above.
    public init() {}

    /// The store's limits, given the database ceiling.
    func storeLimits(maxDatabaseBytes: Int?) -> BlobStoreLimits {
        BlobStoreLimits(
            blobsPerOwner: storedPerIdentity, bytesPerOwner: storedBytesPerIdentity,
            totalBytes: totalBytes ?? maxDatabaseBytes.map { $0 / 2 } ?? 4 * 1024 * 1024 * 1024)
    }
}

/// The provider's presentation of the widget, served to it as /config.json.
public struct WidgetSettings: Sendable, Equatable, Codable {
    /// A crisis contact shown behind the always-visible crisis button.
    public struct Contact: Sendable, Equatable, Codable {
        /// Who (e.g. "Samaritans").
        public var name: String
        /// How to reach them (a phone number, a text line, an address).
        public var contact: String
        /// Creates a contact.
        public init(name: String, contact: String) {
            self.name = name
            self.contact = contact
        }
    }

    /// The service's name in the header.
    public var name = "Haven"
    /// The header colour (`#rrggbb`).
    public var colour = "#2d5b8a"
    /// The logo's path under the widget folder, if any.
    public var logo: String?
    /// The room rules members read before joining.
    public var rules: [String] = ["Be kind. Everyone here is looking for support.", "Do not share personal details."]
    /// Crisis contacts.
    public var crisisContacts: [Contact] = []
    /// The rooms the widget shows (empty: all open rooms).
    public var rooms: [String] = []
    /// Where "quick exit" takes the member (a neutral page); relative to the widget, or absolute.
    public var quickExitURL = "https://www.google.com/"
    /// When counsellors are usually online, in the operator's words ("every evening, 6 pm to 2 am");
    /// shown when none is online now.
    public var openingHours: String?

    /// What the crisis button shows when the operator set no contacts: general emergency numbers,
    /// marked as such in the widget (`haven serve` warns that local ones should be set).
    public static let generalCrisisContacts = [
        Contact(name: "Emergency services (most of Europe)", contact: "112"),
        Contact(name: "Emergency services (UK)", contact: "999"),
        Contact(name: "Emergency services (US and Canada)", contact: "911"),
        Contact(name: "Find a free, confidential helpline in your country", contact: "findahelpline.com"),
    ]

    /// The defaults above.
    public init() {}
}

/// A TURN relay (coturn with `use-auth-secret`) that the two parties of a call get time-limited
/// credentials for.
public struct TurnSettings: Sendable, Equatable {
    /// The relay's URLs.
    public var urls: [String]
    /// The secret shared with the relay (`static-auth-secret`).
    public var secret: [UInt8]
    /// How long credentials stay valid for making a relay allocation, in seconds (coturn checks
    /// them when the allocation is made; it then lasts as long as the call).
    public var ttlSeconds: Int
    /// Tell counsellors' browsers too to use only relayed ICE candidates (members' browsers always
    /// do unless the member chooses a direct connection), at the cost of always relaying media.
    public var relayOnly: Bool

    /// Creates the settings.
    public init(urls: [String], secret: [UInt8], ttlSeconds: Int = 300, relayOnly: Bool = false) {
        self.urls = urls
        self.secret = secret
        self.ttlSeconds = ttlSeconds
        self.relayOnly = relayOnly
    }
}

/// How calls are policed.
public struct CallSettings: Sendable, Equatable {
    /// Record that a call happened (who, when answered, when ended) in the call log. Off by default:
    /// then nothing about a call is stored.
    public var audit = false
    /// A call not answered within this many seconds stops ringing.
    public var ringTimeoutSeconds: Int64 = 45
    /// After a decline, the same caller may not ring the same member again for this long.
    public var declineCooldownSeconds: Int64 = 120
    /// Rings per identity per minute, steady...
    public var ringsPerMinute = 5.0
    /// ...and as a burst.
    public var ringBurst = 5.0
    /// Rings per client address per minute, whatever identities ring from it (members only: staff
    /// share their organisation's network)...
    public var addressRingsPerMinute = 10.0
    /// ...and as a burst.
    public var addressRingBurst = 10.0
    /// Signalling steps one call may carry (offers, answers, ICE candidates...) before it is ended.
    public var maxSignalsPerCall = 500

    /// The defaults above.
    public init() {}
}
