import ArgumentParser
import Foundation
import HavenClient
import HavenNet
import HavenProtocol
import Sodium

/// `haven chat`: a terminal member, for trying a server and for tests that need a Swift client
/// beside browsers.
struct Chat: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Join a room as a new anonymous member and chat from the terminal.",
        discussion: """
            Creates a fresh identity, joins the room, sends each --say message, prints every message
            received as "name: text", and leaves after --seconds (or at end of input when reading
            lines from standard input with --interactive).

            Examples:
              haven chat --server 127.0.0.1:8080 --room lobby --say "hello" --seconds 10
              haven chat --server 127.0.0.1:8080 --room lobby --interactive
              haven chat --server 127.0.0.1:8080 --server-name chat.example.org --organisation-key "$(haven keys export-public)"

            With --organisation-key (the key the operator gave you, never the server's word) each
            name is printed with its verified role, "counsellor ✓", or "member". With --server-name
            the client refuses a server that signs in under another name.
            """)

    @Option(help: "The server: HOST:PORT, ws://HOST:PORT or wss://NAME:PORT (TLS, certificate checked).")
    var server = "127.0.0.1:8080"
    @Option(help: "For wss://: trust the certificates in this PEM file instead of the system's.")
    var caFile: String?
    @Option(help: "The room to join.")
    var room = "lobby"
    @Option(help: "Your pseudonym.")
    var name = "Terminal Wren"
    @Option(help: "A message to send after joining (repeatable).")
    var say: [String] = []
    @Option(help: "Wait this long for the room's key before sending, in seconds.")
    var keyTimeout = 20.0
    @Option(help: "How long to stay, in seconds.")
    var seconds = 10.0
    @Flag(help: "Send each line typed on standard input.")
    var interactive = false
    @Option(help: "The name the server must sign in with (its server_name).")
    var serverName: String?
    @Option(parsing: .unconditional, help: "The organisation's public key (base64url, which may begin with \"-\"), to verify who is staff.")
    var organisationKey: String?

    func run() async throws {
        let address = try ServerAddress(server)
        let roomID = try RoomID(room)
        let loop = try EventLoop()
        loop.start()
        defer { loop.shutdown() }
        let organisation = try organisationKey.map { text in
            guard let bytes = try? Base64URL.decode(text), let key = try? SigningPublicKey(bytes: bytes) else {
                throw ValidationError("--organisation-key is not a base64url Ed25519 public key")
            }
            return key
        }
        let client = HavenClient(identity: try SigningKeyPair.generate(), displayName: name, loop: loop, organisation: organisation)
        let printer = Task {
            var names: [MemberID: String] = [:]
            var roles: [MemberID: StaffRole] = [:]
            for await event in client.events {
                switch event {
                case .memberJoined(_, let member):
                    names[member.member] = member.displayName
                    roles[member.member] = await client.role(of: member)
                case .roomMessage(_, let message, _):
                    let role = roles[message.sender].map { "\($0.rawValue) ✓" } ?? "member"
                    let line = "\(names[message.sender] ?? "someone") (\(role)): \(message.body.text ?? "(attachment)")\n"
                    FileHandle.standardOutput.write(Data(line.utf8))
                default: break
                }
            }
        }
        let tls = address.secure ? TLSClientSettings(serverName: address.name, caFile: caFile) : nil
        try await connect(client, to: address, tls: tls)
        _ = try await client.join(roomID)
        let keyTimeout = keyTimeout
        let hasKey = await withCheckedContinuation { (continuation: CheckedContinuation<Bool, Never>) in
            let once = ResumeOnce(continuation)
            Task { await client.waitForKey(roomID); once.resume(true) }
            Task { try? await Task.sleep(for: .seconds(keyTimeout)); once.resume(false) }
        }
        guard hasKey else {
            FileHandle.standardError.write(Data("error: nobody holding the room's key came online within \(Int(keyTimeout)) s\n".utf8))
            throw ExitCode.failure
        }
        for message in say { _ = try await client.send(message, to: roomID) }
        if interactive {
            while let line = readLine() { _ = try await client.send(line, to: roomID) }
        } else {
            try await Task.sleep(for: .seconds(seconds))
        }
        await client.disconnect()
        printer.cancel()
    }

    /// Connects to the first of the server name's addresses that takes a TCP connection: a
    /// server may listen on 127.0.0.1 only while "localhost" resolves to ::1 first. A TLS or
    /// login failure is final; only an address that cannot be reached moves on to the next.
    private func connect(_ client: HavenClient, to address: ServerAddress, tls: TLSClientSettings?) async throws {
        let hosts = try address.resolvedHosts()
        for (index, host) in hosts.enumerated() {
            do {
                return try await client.connect(host: host, port: address.port, serverName: serverName, tls: tls)
            } catch ClientError.connectFailed(.connectFailed) where index < hosts.count - 1 {
                continue
            }
        }
    }
}

/// `--server` as given: `HOST:PORT`, `ws://HOST:PORT` or `wss://NAME:PORT`.
struct ServerAddress {
    let secure: Bool
    let name: String
    let port: Int

    init(_ text: String) throws {
        secure = text.hasPrefix("wss://")
        let rest = text.hasPrefix("wss://") ? text.dropFirst(6) : text.hasPrefix("ws://") ? text.dropFirst(5) : Substring(text)
        let hostPort = rest.split(separator: "/", maxSplits: 1).first ?? ""
        guard let colon = hostPort.lastIndex(of: ":"), let port = Int(hostPort[hostPort.index(after: colon)...]) else {
            throw ValidationError("--server must be HOST:PORT, ws://HOST:PORT or wss://NAME:PORT")
        }
        name = String(hostPort[..<colon]).trimmingCharacters(in: CharacterSet(charactersIn: "[]"))
        self.port = port
    }

    /// Every address `name` stands for (itself if it is an IP address), in the resolver's order
    /// and without repeats.
    func resolvedHosts() throws -> [String] {
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var found: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(name, nil, &hints, &found) == 0 else { throw ValidationError("cannot resolve \(name)") }
        defer { freeaddrinfo(found) }
        var hosts: [String] = []
        var next = found
        while let entry = next {
            next = entry.pointee.ai_next
            var text = [CChar](repeating: 0, count: Int(NI_MAXHOST))
            guard getnameinfo(entry.pointee.ai_addr, entry.pointee.ai_addrlen, &text, socklen_t(text.count), nil, 0, NI_NUMERICHOST) == 0 else { continue }
            let host = String(decoding: text.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            if !hosts.contains(host) { hosts.append(host) }
        }
        guard !hosts.isEmpty else { throw ValidationError("cannot resolve \(name)") }
        return hosts
    }
}

/// Resumes a continuation with the first value offered and ignores the rest.
private final class ResumeOnce<Value: Sendable>: @unchecked Sendable {
    // @unchecked Sendable: `continuation` is taken under `lock`, so it is resumed exactly once.
    private let lock = NSLock()
    private var continuation: CheckedContinuation<Value, Never>?

    init(_ continuation: CheckedContinuation<Value, Never>) { self.continuation = continuation }

    func resume(_ value: Value) {
        let taken = lock.withLock { () -> CheckedContinuation<Value, Never>? in
            defer { continuation = nil }
            return continuation
        }
        taken?.resume(returning: value)
    }
}
