import Foundation
import HavenNet

/// The real `haven` binary running `serve` in a child process, for tests that kill it.
public final class ServerProcess: @unchecked Sendable {
    // @unchecked Sendable: `pid` is guarded by `lock`.
    private let lock = NSLock()
    private var pid: pid_t?
    private let errorsPath: String
    /// The port it reported listening on.
    public let port: Int

    /// The built `haven` binary: $HAVEN_BINARY, or .build/debug/haven in the package.
    public static var binaryPath: String {
        if let path = ProcessInfo.processInfo.environment["HAVEN_BINARY"] { return path }
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        return root.appendingPathComponent(".build/debug/haven").path
    }

    /// Runs `haven <arguments>` to its end (with `environment` added to this process's); its exit
    /// status and what it wrote to standard output and standard error. With `prefix`, runs
    /// `prefix + [haven] + arguments` (a wrapper such as prlimit).
    @discardableResult
    public static func run(_ arguments: [String], environment: [String: String] = [:], prefix: [String] = []) throws -> (status: Int32, output: String, errors: String) {
        try ChildProcess.runToEnd(prefix + [binaryPath] + arguments, environment: environment)
    }

    /// Starts `haven serve --listen <listen> --data <data> [extra...]` and waits for its
    /// "listening on" line (``port`` is 0 when it listens on a Unix-domain socket).
    public init(data: String, listen: String = "127.0.0.1:0", arguments extra: [String] = []) throws {
        errorsPath = FileManager.default.temporaryDirectory.appendingPathComponent("haven-serve-\(UUID().uuidString).err").path
        let started = try ChildProcess.start([Self.binaryPath, "serve", "--listen", listen, "--data", data] + extra, errorsPath: errorsPath)
        pid = started
        let deadline = Date().addingTimeInterval(20)
        var found: Int?
        var text = ""
        var exited = false
        while found == nil && !exited && Date() < deadline {
            text = String(decoding: FileManager.default.contents(atPath: errorsPath) ?? Data(), as: UTF8.self)
            if let range = text.range(of: "listening on http://127.0.0.1:") {
                found = Int(text[range.upperBound...].prefix { $0.isNumber })
            } else if text.contains("listening on the Unix-domain socket") {
                found = 0
            } else {
                var status: Int32 = 0
                exited = waitpid(started, &status, WNOHANG) == started
                if !exited { Thread.sleep(forTimeInterval: 0.02) }
            }
        }
        guard let found else {
            if !exited {
                Foundation.kill(started, SIGKILL)
                ChildProcess.wait(started)
            }
            try? FileManager.default.removeItem(atPath: errorsPath)
            throw TimedOut(what: "haven serve to start; it said: \(text)")
        }
        port = found
    }

    /// Kills the process at once (SIGKILL): no cleanup, no flush.
    public func kill() {
        guard let running = lock.withLock({ pid.take() }) else { return }
        Foundation.kill(running, SIGKILL)
        ChildProcess.wait(running)
    }

    /// Asks the process to stop (SIGTERM) and waits; returns its exit status.
    @discardableResult
    public func terminate() -> Int32 {
        guard let running = lock.withLock({ pid.take() }) else { return -1 }
        Foundation.kill(running, SIGTERM)
        return ChildProcess.wait(running)
    }

    deinit {
        kill()
        try? FileManager.default.removeItem(atPath: errorsPath)
    }
}
