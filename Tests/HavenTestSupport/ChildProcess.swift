public import Foundation

/// Programs the tests start (database servers and their tools), spawned and waited for
/// directly with posix_spawn and waitpid: Foundation's Process, started from a test while
/// other tests block on its result, was seen never to notice the exit. Standard error goes to a
/// file, not a pipe: a server a tool leaves running would hold a pipe open, and reading it would
/// never end.
public enum ChildProcess {
    /// Why a program could not be started.
    public struct Failed: Error, CustomStringConvertible {
        public let description: String
    }

    /// Starts `command` (a path and its arguments) with standard error in `errorsPath`.
    ///
    /// - Throws: ``Failed`` when it cannot be started.
    public static func start(_ command: [String], errorsPath: String) throws -> pid_t {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 2, errorsPath, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        let argv = command.map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        var pid: pid_t = 0
        let spawned = posix_spawn(&pid, command[0], &actions, nil, argv, environ)
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

    /// Runs `command` to its end: its exit status and what it wrote to standard error.
    ///
    /// - Throws: ``Failed`` when it cannot be started.
    public static func runToEnd(_ command: [String]) throws -> (status: Int32, errors: String) {
        let errorsPath = FileManager.default.temporaryDirectory.appendingPathComponent("haven-child-\(UUID().uuidString).err").path
        defer { try? FileManager.default.removeItem(atPath: errorsPath) }
        let status = wait(try start(command, errorsPath: errorsPath))
        return (status, String(decoding: FileManager.default.contents(atPath: errorsPath) ?? Data(), as: UTF8.self))
    }
}
