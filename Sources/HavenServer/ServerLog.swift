import Foundation

/// Operational log lines on standard error: a timestamp, a level and a message. Callers pass
/// only operational facts (ports, counts, error kinds), never content, keys, tokens or addresses.
public enum ServerLog {
    /// Writes one line.
    public static func write(_ level: String, _ message: String) {
        let line = "\(Date().formatted(.iso8601)) \(level) \(message)\n"
        FileHandle.standardError.write(Data(line.utf8))
    }

    /// An informational line.
    public static func info(_ message: String) { write("info", message) }

    /// A problem worth an operator's attention.
    public static func warning(_ message: String) { write("warning", message) }
}
