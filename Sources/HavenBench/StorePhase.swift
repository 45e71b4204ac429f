import Foundation
import HavenProtocol
import HavenStore
import Sodium

/// Measures the store alone, in this process: private messages appended through
/// ``HavenStore/append(_:now:completion:)``, the writer thread and group commit the server uses,
/// to a fresh SQLite file with the server's settings (or the `--store` database), with no
/// network, no event loop and no load generator in the way.
///
/// The messages are what the server stores for a real sealed private message ("benchmark
/// message", padded), to ``recipients`` recipients in turn. *Saturation* keeps ``window``
/// appends waiting (the server's own ceiling on its store backlog) for one window; *fixed load*
/// offers half of that rate, paced every millisecond. Each append's latency is from its
/// submission to its completion, that is to its commit being durable.
struct StorePhase {
    /// The run's configuration: the window's length, the store's durability and location.
    let configuration: BenchConfiguration
    /// Recipients the messages go to in turn (the direct phase's pairs in a full run).
    var recipients = 1_000
    /// Appends kept waiting at saturation (the server's `max_store_backlog`).
    var window = 4_096

    func run() throws -> [String: Any] {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("haven-bench-store-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        guard let synchronous = StoreSettings.Synchronous(rawValue: configuration.synchronous.uppercased()) else {
            throw BenchError("synchronous must be full or normal, not \(configuration.synchronous)")
        }
        let completions = DispatchQueue(label: "bench-store-completions")
        let store = try HavenStore(
            configuration.serverStore.map(StoreLocation.init) ?? .sqlite(path: folder + "/haven.sqlite"),
            settings: StoreSettings(synchronous: synchronous), deliver: { completions.async(execute: $0) })
        defer { store.close() }
        let stored = try Self.storedMessage()
        let members = (0..<recipients).map { _ in (0..<32).map { _ in UInt8.random(in: 0...255) } }
        let load = AppendLoad(store: store, completions: completions, message: stored, recipients: members, window: window)
        let saturation = load.measure(seconds: configuration.windowSeconds, rate: nil)
        let rate = max(1, (saturation["commits_per_s"] as? Double ?? 2) / 2)
        let fixed = load.measure(seconds: configuration.windowSeconds, rate: rate)
        return [
            "engine": configuration.serverStore == nil ? "sqlite" : "postgres",
            "message_bytes": stored.count, "recipients": recipients, "window": window,
            "saturation": saturation, "fixed_load": fixed,
        ]
    }

    /// The bytes the server stores for a short sealed private message.
    private static func storedMessage() throws -> [UInt8] {
        let recipient = MemberID(try SigningKeyPair.generate().publicKey)
        let message = try DirectMessage.seal(MessageBody(text: "benchmark message"), from: try SigningKeyPair.generate(), to: recipient)
        return FrameCodec.encodeValue(message)
    }
}

/// Submits appends to a store and records when each commits.
private final class AppendLoad: @unchecked Sendable {
    // @unchecked Sendable: `latency`, `committed` and `failed` are touched only on `completions`;
    // the rest is immutable.
    private let store: HavenStore
    private let completions: DispatchQueue
    private let message: [UInt8]
    private let recipients: [[UInt8]]
    private let room: DispatchSemaphore
    private var latency = LatencyRecorder()
    private var committed = 0
    private var failed = 0

    init(store: HavenStore, completions: DispatchQueue, message: [UInt8], recipients: [[UInt8]], window: Int) {
        self.store = store
        self.completions = completions
        self.message = message
        self.recipients = recipients
        room = DispatchSemaphore(value: window)
    }

    /// Appends for `seconds`: as fast as the window lets (`rate` nil) or `rate` a second, paced
    /// every millisecond. Returns the window's commits a second, its latency, and the store's
    /// transactions and writer CPU over it.
    func measure(seconds: Double, rate: Double?) -> [String: Any] {
        completions.sync {
            latency.reset()
            committed = 0
            failed = 0
        }
        let storeBefore = store.metrics
        let cpuBefore = ServerSample.cpuSecondsByThread(pid: getpid())["haven-store"] ?? 0
        let writtenBefore = Self.bytesWritten()
        let started = DispatchTime.now().uptimeNanoseconds
        let deadline = started + UInt64(seconds * 1e9)
        var submitted = 0
        var next = 0
        while DispatchTime.now().uptimeNanoseconds < deadline {
            if let rate {
                let elapsed = Double(DispatchTime.now().uptimeNanoseconds - started) / 1e9
                let due = Int(elapsed * rate)
                guard submitted < due else {
                    Thread.sleep(forTimeInterval: 0.001)
                    continue
                }
            }
            guard room.wait(timeout: .now() + .milliseconds(10)) == .success else { continue }
            submit(to: recipients[next])
            next = (next + 1) % recipients.count
            submitted += 1
        }
        let (count, failures, percentiles) = completions.sync { (committed, failed, latency.percentilesMilliseconds) }
        let elapsed = Double(DispatchTime.now().uptimeNanoseconds - started) / 1e9
        let storeAfter = store.metrics
        let cpuAfter = ServerSample.cpuSecondsByThread(pid: getpid())["haven-store"] ?? 0
        let written = Self.bytesWritten() - writtenBefore
        let transactions = Double(storeAfter.commits - storeBefore.commits)
        let busy = storeAfter.commitSecondsTotal - storeBefore.commitSecondsTotal
        // Let the rest commit before the next window starts.
        drain(submitted: submitted)
        return [
            "offered_per_s": rate.map { $0.rounded() } ?? "saturation",
            "commits_per_s": (Double(count) / elapsed).rounded(),
            "failed": failures,
            "latency_ms": percentiles,
            "transactions_per_s": (transactions / elapsed).rounded(),
            "appends_per_transaction": transactions > 0 ? (Double(storeAfter.operations - storeBefore.operations) / transactions).rounded() : 0,
            "transaction_ms_mean": transactions > 0 ? (busy / transactions * 1e5).rounded() / 100 : 0,
            "writer_busy_share": (busy / elapsed * 100).rounded() / 100,
            "writer_cores": ((cpuAfter - cpuBefore) / elapsed * 100).rounded() / 100,
            "bytes_written_per_append": count > 0 ? written / count : 0,
        ]
    }

    /// Bytes this process has handed to `write` and `pwrite` so far (`wchar` in `/proc/self/io`):
    /// the store's WAL frames and checkpoints, nothing else writes here.
    private static func bytesWritten() -> Int {
        let io = (try? String(contentsOfFile: "/proc/self/io", encoding: .utf8)) ?? ""
        let line = io.split(separator: "\n").first { $0.hasPrefix("wchar:") }
        return line.flatMap { Int($0.dropFirst("wchar:".count).trimmingCharacters(in: .whitespaces)) } ?? 0
    }

    private func submit(to recipient: [UInt8]) {
        let start = LatencyRecorder.nowMicroseconds()
        let append = MessageAppend.direct(recipient: recipient, messageID: MessageID.random().bytes, message: message, recipientKnown: true)
        store.append(append, now: Int64(Date().timeIntervalSince1970)) { [self] result in
            // Runs on `completions`.
            switch result {
            case .success(.some): committed += 1
            case .success(.none), .failure: failed += 1
            }
            latency.recordSince(start)
            room.signal()
        }
    }

    /// Waits until every append submitted has been answered.
    private func drain(submitted: Int) {
        while completions.sync(execute: { committed + failed }) < submitted {
            Thread.sleep(forTimeInterval: 0.01)
        }
    }
}
