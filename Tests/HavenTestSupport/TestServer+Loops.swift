import Foundation
import HavenServer

extension TestServer {
    /// Connections each of the server's loops has accepted so far, by loop.
    public func acceptedPerLoop() throws -> [Int] {
        try server.metricsText().split(separator: "\n")
            .filter { $0.hasPrefix("haven_loop_connections_accepted_total{") }
            .map { line in Int(line.split(separator: " ").last ?? "") ?? 0 }
    }

    /// A connection the server placed on loop `index`. The kernel spreads new connections over
    /// the loops, so this opens them one at a time with `open` until one lands there (the loops'
    /// counters say where each went), and hands the others to `discard`.
    public func connection<Connection>(
        onLoop index: Int, _ open: () async throws -> Connection, discard: (Connection) -> Void
    ) async throws -> Connection {
        for _ in 0..<64 {
            let before = try acceptedPerLoop()
            let connection = try await open()
            let after = try await waitFor("the server to accept a connection") { () -> [Int]? in
                let now = try acceptedPerLoop()
                return now.reduce(0, +) > before.reduce(0, +) ? now : nil
            }
            if after[index] > before[index] { return connection }
            discard(connection)
        }
        throw TimedOut(what: "a connection on loop \(index) (64 landed elsewhere)")
    }
}
