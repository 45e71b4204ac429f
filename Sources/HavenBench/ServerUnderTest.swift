import Foundation
import HavenNet
import HavenProtocol

/// `haven serve` in a child process with its own data folder and no rate limits, so its memory
/// can be read apart from the load generator's.
final class ServerUnderTest {
    private let process = Process()
    let port: Int
    let directory: String

    /// Starts the server `configuration` describes (its binary, durability, loops and CPUs)
    /// with the benchmark room and `rooms` besides; `prepare` may fill its data folder first (it
    /// gets the folder's path).
    init(_ configuration: BenchConfiguration, rooms: [RoomID] = [], prepare: (String) throws -> Void = { _ in }) throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("haven-bench-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory + "/data", withIntermediateDirectories: true)
        try prepare(directory + "/data")
        let config = directory + "/bench.toml"
        try """
            synchronous = "\(configuration.synchronous)"
            \(configuration.serverLoops.map { "loops = \($0)" } ?? "")

            [[rooms]]
            id = "bench"
            name = "Benchmark room"
            \(rooms.map { "\n[[rooms]]\nid = \"\($0.value)\"\nname = \"\($0.value)\"\n" }.joined())

            [limits]
            max_queued_bytes = 16777216
            max_connections_per_network = 1000000

            [proof_of_work]
            base_bits = 0

            [rate_limits]
            messages_per_second = 1e9
            message_burst = 1e9
            new_identity_messages_per_second = 1e9
            new_identity_message_burst = 1e9
            address_messages_per_second = 1e9
            address_message_burst = 1e9
            address_connections_per_second = 1e9
            address_connection_burst = 1e9
            frames_per_second = 1e9
            frame_burst = 1e9
            new_identity_frames_per_second = 1e9
            new_identity_frame_burst = 1e9
            address_frames_per_second = 1e9
            address_frame_burst = 1e9
            address_requests_per_second = 1e9
            address_request_burst = 1e9
            address_replays_at_once = 1000000
            key_bundles_per_second = 1e9
            key_bundle_burst = 1e9
            message_bytes_per_hour = 1e15
            new_identity_message_bytes_per_hour = 1e15
            address_message_bytes_per_hour = 1e15
            """.write(toFile: config, atomically: true, encoding: .utf8)
        let serve = [configuration.serverBinary, "serve", "--listen", "127.0.0.1:0", "--data", directory + "/data", "--config", config]
            + (configuration.serverStore.map { ["--store", $0] } ?? []) + (configuration.serverRedis.map { ["--redis", $0] } ?? [])
        if let cpus = configuration.serverCPUs {
            process.executableURL = URL(fileURLWithPath: "/usr/bin/taskset")
            process.arguments = ["-c", cpus] + serve
        } else {
            process.executableURL = URL(fileURLWithPath: serve[0])
            process.arguments = Array(serve.dropFirst())
        }
        let errors = Pipe()
        process.standardError = errors
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        var output = Data()
        var found: Int?
        while found == nil {
            let chunk = errors.fileHandleForReading.availableData
            guard !chunk.isEmpty else { break }
            output += chunk
            let text = String(decoding: output, as: UTF8.self)
            if let range = text.range(of: "listening on http://127.0.0.1:") {
                found = Int(text[range.upperBound...].prefix { $0.isNumber })
            }
        }
        guard let found else {
            throw BenchError("the server did not start: \(String(decoding: output, as: UTF8.self))")
        }
        port = found
        errors.fileHandleForReading.readabilityHandler = { handle in _ = handle.availableData }
    }

    /// Waits until the node has heard from `others` other nodes (its /metrics says so).
    func waitToHear(_ others: Int) throws {
        let deadline = Date().addingTimeInterval(30)
        while Date() < deadline {
            let answer = try? HTTPProbe.get(.tcp(host: "127.0.0.1", port: port), path: "/metrics", hostHeader: "127.0.0.1", tls: nil)
            if let body = answer?.body, String(decoding: body, as: UTF8.self).contains("haven_cluster_nodes \(others)\n") { return }
            Thread.sleep(forTimeInterval: 0.1)
        }
        throw BenchError("the nodes did not hear each other within 30 s (is Redis running?)")
    }

    /// The server's CPU time per thread and its store's counters, now.
    func sample() -> ServerSample {
        ServerSample(pid: process.processIdentifier, port: port)
    }

    /// The server's resident memory in bytes (VmRSS).
    func residentBytes() -> Int {
        guard let status = try? String(contentsOfFile: "/proc/\(process.processIdentifier)/status", encoding: .utf8),
              let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") })
        else { return 0 }
        return (Int(line.split(separator: " ").dropFirst().first ?? "") ?? 0) * 1024
    }

    func stop() {
        process.terminate()
        process.waitUntilExit()
        try? FileManager.default.removeItem(atPath: directory)
    }
}

/// A benchmark that could not run, with the reason.
public struct BenchError: Error, CustomStringConvertible {
    public let description: String
    init(_ description: String) { self.description = description }
}
