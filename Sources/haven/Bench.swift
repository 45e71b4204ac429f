import ArgumentParser
import Foundation
import HavenBench
import HavenServer

/// `haven bench`: measures the server on this machine and prints the figures as JSON.
struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Benchmark a Haven server on loopback.",
        discussion: """
            Starts `haven serve` in a child process (its own temporary data folder, rate limits off)
            and drives it from this process: idle authenticated connections (memory per
            connection), a room with many members (fan-out), one-to-one pairs (direct messages),
            each at saturation and at half of it (latency), joining a long room log, and a mix of
            many small rooms, private messages, leaves and joins at a fixed rate (latency by
            operation). Prints one JSON line per phase, then
            one JSON summary line. Build with `-c release` for meaningful figures; Scripts/bench.sh does.

            Examples:
              haven bench
              haven bench --quick
              haven bench --connections 5000 --pairs 500 --seconds 3
              haven bench --phase direct --phase room
            """
    )

    @Flag(help: "The same shape in under a minute (fewer connections, shorter windows).")
    var quick = false

    @Option(help: "Idle authenticated connections to hold.")
    var connections: Int?

    @Option(help: "One-to-one pairs for the direct-message phase.")
    var pairs: Int?

    @Option(help: "Seconds per measured window.")
    var seconds: Double?

    @Option(help: "Messages each sender keeps unacknowledged at saturation (default 8).")
    var window: Int?

    @Option(help: "The server's store durability: full or normal.")
    var synchronous = "full"

    @Option(help: "Offered room message rates for the room_rate phase, comma-separated (default 100,200,...,12800).")
    var roomRates: String?

    @Option(help: "Message body length in the room_rate phase (default 200).")
    var bodyBytes: Int?

    @Option(help: "Operations a second offered in the mix phase (default 1000).")
    var mixRate: Double?

    @Option(help: "The server's event loops (default: haven serve's, one per core).")
    var loops: Int?

    @Option(help: "CPUs to run the server on, as taskset -c takes them (\"0\", \"0-1\"); run the bench itself under taskset to keep the load generator apart.")
    var serverCpus: String?

    @Option(help: "A PostgreSQL database for the server's store (postgres://…) instead of SQLite; start from an empty one for comparable runs.")
    var store: String?

    @Option(help: "Nodes to run on one --store database, sharing --redis (default 1); clients are spread over them.")
    var nodes: Int?

    @Option(help: "The Redis server the nodes share (redis://host:port or a socket's path), with --nodes.")
    var redis: String?

    @Option(name: .customLong("phase"), help: "Run only this phase (repeatable): idle, room, direct, log_join, mix, store or room_rate (which runs only when asked).")
    var phases: [String] = []

    func run() throws {
        let binary = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().path
        var configuration = quick ? BenchConfiguration.quick(serverBinary: binary) : BenchConfiguration(serverBinary: binary)
        if let connections { configuration.idleConnections = connections }
        if let pairs { configuration.directPairs = pairs }
        if let seconds { configuration.windowSeconds = seconds }
        if let window { configuration.window = max(1, window) }
        if let mixRate { configuration.mixOperationsPerSecond = max(1, mixRate) }
        if let bodyBytes { configuration.roomRateBodyBytes = max(1, bodyBytes) }
        if let roomRates {
            configuration.roomRates = try roomRates.split(separator: ",").map { text in
                guard let rate = Double(text.trimmingCharacters(in: .whitespaces)), rate > 0 else {
                    throw ValidationError("--room-rates takes positive numbers separated by commas, not \"\(text)\"")
                }
                return rate
            }
        }
        configuration.synchronous = synchronous
        configuration.serverLoops = loops
        configuration.serverCPUs = serverCpus
        configuration.serverStore = store
        if let nodes {
            guard nodes == 1 || (store != nil && redis != nil) else { throw ValidationError("--nodes above 1 needs --store postgres://… and --redis") }
            configuration.nodes = max(1, nodes)
        }
        configuration.serverRedis = redis
        if !phases.isEmpty {
            configuration.phases = Set(try phases.map { name in
                guard let phase = BenchPhase(rawValue: name) else {
                    throw ValidationError("no phase \"\(name)\"; the phases are \(BenchPhase.allCases.map(\.rawValue).joined(separator: ", "))")
                }
                return phase
            })
        }
        // The idle phase closes its connections before the others open theirs.
        let later = 2 * configuration.roomMembers + 2 * configuration.directPairs + MixPlan.sizes(count: configuration.mixRooms).reduce(0, +)
        let needed = UInt64(max(configuration.idleConnections, later) + 256)
        let files = ProcessLimits.raiseOpenFiles(to: needed)
        FileHandle.standardError.write(Data("bench: open-files limit raised to \(files) (needs \(needed))\n".utf8))
        guard files >= needed else {
            throw ValidationError("the open-files limit (\(files)) is below the \(needed) this run needs; use --connections to hold fewer")
        }
        let runner = try BenchRunner(configuration: configuration)
        // Each line is written as its phase ends (unbuffered), so a profiler or a reader can follow along.
        let summary = try runner.run { line in FileHandle.standardOutput.write(Data((line + "\n").utf8)) }
        let data = try JSONSerialization.data(withJSONObject: summary, options: [.sortedKeys])
        print(String(decoding: data, as: UTF8.self))
    }
}
