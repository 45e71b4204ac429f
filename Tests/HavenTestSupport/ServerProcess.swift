import Foundation
import HavenNet

/// The real `haven` binary running `serve` in a child process, for tests that kill it.
public final class ServerProcess: @unchecked Sendable {
    // @unchecked Sendable: `process` is set up in init and only signalled afterwards.
    private let process = Process()
    private let errors = Pipe()
    /// The port it reported listening on.
    public let port: Int

    /// The built `haven` binary: $HAVEN_BINARY, or .build/debug/haven in the package.
    public static var binaryPath: String {
        if let path = ProcessInfo.processInfo.environment["HAVEN_BINARY"] { return path }
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        return root.appendingPathComponent(".build/debug/haven").path
    }

    /// Runs `haven <arguments>` to its end (with `environment` added to this process's); its exit
    /// status and what it wrote to standard output and standard error.
    @discardableResult
    /// With `prefix`, runs `prefix + [haven] + arguments` (a wrapper such as prlimit).
    public static func run(_ arguments: [String], environment: [String: String] = [:], prefix: [String] = []) throws -> (status: Int32, output: String, errors: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: prefix.first ?? binaryPath)
        process.arguments = prefix.isEmpty ? arguments : Array(prefix.dropFirst()) + [binaryPath] + arguments
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        let output = Pipe(), errors = Pipe()
        process.standardOutput = output
        process.standardError = errors
        try process.run()
        // Standard error is read on its own thread, so neither pipe can fill while the other is read.
        let errorText = Locked(Data())
        let drained = DispatchSemaphore(value: 0)
        Thread {
            let data = errors.fileHandleForReading.readDataToEndOfFile()
            errorText.withLock { $0 = data }
            drained.signal()
        }.start()
        let out = output.fileHandleForReading.readDataToEndOfFile()
        drained.wait()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: out, as: UTF8.self), String(decoding: errorText.withLock { $0 }, as: UTF8.self))
    }

    /// Starts `haven serve --listen <listen> --data <data> [extra...]` and waits for its
    /// "listening on" line (``port`` is 0 when it listens on a Unix-domain socket).
    public init(data: String, listen: String = "127.0.0.1:0", arguments extra: [String] = []) throws {
        process.executableURL = URL(fileURLWithPath: Self.binaryPath)
        process.arguments = ["serve", "--listen", listen, "--data", data] + extra
        process.standardError = errors
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        var output = Data()
        let deadline = Date().addingTimeInterval(20)
        var found: Int?
        while found == nil && Date() < deadline {
            let chunk = errors.fileHandleForReading.availableData
            if chunk.isEmpty { break }
            output += chunk
            let text = String(decoding: output, as: UTF8.self)
            if let range = text.range(of: "listening on http://127.0.0.1:") {
                found = Int(text[range.upperBound...].prefix { $0.isNumber })
            } else if text.contains("listening on the Unix-domain socket") {
                found = 0
            }
        }
        guard let found else {
            process.terminate()
            throw TimedOut(what: "haven serve to start; it said: \(String(decoding: output, as: UTF8.self))")
        }
        port = found
        // Keep draining stderr so the child never blocks on a full pipe; at its end, stop (an
        // end-of-file handler left running spins, and races the pipe's release).
        errors.fileHandleForReading.readabilityHandler = { handle in
            if handle.availableData.isEmpty { handle.readabilityHandler = nil }
        }
    }

    /// Kills the process at once (SIGKILL): no cleanup, no flush.
    public func kill() {
        Foundation.kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        errors.fileHandleForReading.readabilityHandler = nil
    }

    /// Asks the process to stop (SIGTERM) and waits; returns its exit status.
    @discardableResult
    public func terminate() -> Int32 {
        process.terminate()
        process.waitUntilExit()
        errors.fileHandleForReading.readabilityHandler = nil
        return process.terminationStatus
    }

    deinit {
        if process.isRunning { kill() }
    }
}
