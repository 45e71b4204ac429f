import Synchronization

/// The connections each client network holds open, counted across every loop that serves the
/// same address, so ``WebSocketServerConfiguration/maxConnectionsPerNetwork`` holds for the
/// server as a whole. Any thread.
public final class ConnectionsPerNetwork: Sendable {
    private let open = Mutex<[[UInt8]: Int]>([:])

    /// None yet.
    public init() {}

    /// Counts one more connection from `network`, unless it holds `most` already.
    func take(_ network: [UInt8], most: Int) -> Bool {
        open.withLock { open in
            let count = open[network, default: 0]
            guard count < most else { return false }
            open[network] = count + 1
            return true
        }
    }

    /// Counts one connection from `network` fewer.
    func release(_ network: [UInt8]) {
        open.withLock { open in
            let count = open[network, default: 1] - 1
            open[network] = count > 0 ? count : nil
        }
    }
}
