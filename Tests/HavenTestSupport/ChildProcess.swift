public import Foundation

/// Programs the tests start (the `haven` binary, database servers and their tools), spawned and
/// waited for directly with posix_spawn and waitpid. Foundation's Process is not used: on Swift
/// 6.3.1 its `run()` crashes now and then (an over-read of `/proc/self/fd` entries,
/// swift-corelibs-foundation#5472), and started from a test while other tests block on its
/// result it was seen never to notice the exit. Output goes to files, not pipes: a server a
/// tool leaves running would hold a pipe open, and reading it would never end.
public enum ChildProcess {
    /// glibc's `posix_spawn_file_actions_addclosefrom_np` (2.34 on), which Swift's Glibc module
    /// does not declare.
    private static let closeFrom: @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, Int32) -> Int32 = {
        guard let symbol = dlsym(dlopen(nil, RTLD_NOW), "posix_spawn_file_actions_addclosefrom_np") else {
            fatalError("this glibc has no posix_spawn_file_actions_addclosefrom_np")
        }
        return unsafeBitCast(symbol, to: (@convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, Int32) -> Int32).self)
    }()

    /// Why a program could not be started.
    public struct Failed: Error, CustomStringConvertible {
        public let description: String

        /// A failure described as `description`.
        public init(description: String) {
            self.description = description
        }
    }

    /// Starts `command` (a path and its arguments) with standard error in `errorsPath`, standard
    /// output in `outputPath` (nil: discarded), and `environment` added to this process's.
    ///
    /// - Throws: ``Failed`` when it cannot be started.
    public static func start(
        _ command: [String], errorsPath: String, outputPath: String? = nil, environment: [String: String] = [:]
    ) throws -> pid_t {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, outputPath ?? "/dev/null", O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        posix_spawn_file_actions_addopen(&actions, 2, errorsPath, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        // Nothing else of this process goes with the child: a socket a test closes must close,
        // not live on in a server another test started at that moment.
        _ = closeFrom(&actions, 3)
        let argv = command.map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        let variables = ProcessInfo.processInfo.environment.merging(environment) { $1 }.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer { variables.forEach { free($0) } }
        var pid: pid_t = 0
        let spawned = posix_spawn(&pid, command[0], &actions, nil, argv, variables)
        guard spawned == 0 else { throw Failed(description: "\(command[0]) did not start: \(String(cString: strerror(spawned)))") }
        return pid
    }

    /// Waits for `pid` to end; its exit status (or 128 + the signal that ended it).
    @discardableResult
    public static func wait(_ pid: pid_t) -> Int32 {
        var status: Int32 = 0
        while waitpid(pid, &status, 0) == -1 && errno == EINTR {}
        return status & 0x7f == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
    }

    /// Runs `command` to its end: its exit status and what it wrote to standard output and error.
    ///
    /// - Throws: ``Failed`` when it cannot be started.
    public static func runToEnd(_ command: [String], environment: [String: String] = [:]) throws -> (status: Int32, output: String, errors: String) {
        let base = FileManager.default.temporaryDirectory.appendingPathComponent("haven-child-\(UUID().uuidString)").path
        defer { for path in [base + ".out", base + ".err"] { try? FileManager.default.removeItem(atPath: path) } }
        let status = wait(try start(command, errorsPath: base + ".err", outputPath: base + ".out", environment: environment))
        let read = { (path: String) in String(decoding: FileManager.default.contents(atPath: path) ?? Data(), as: UTF8.self) }
        return (status, read(base + ".out"), read(base + ".err"))
    }
}
