import Foundation
import HavenKeys
import Sodium

/// Where a passphrase comes from: a file, the HAVEN_PASSPHRASE environment variable (or another
/// named variable), or a prompt on the terminal without echo. The bytes go straight into secure
/// memory; copies the process had to make are zeroed.
enum Passphrase {
    /// The shortest passphrase accepted for a new key.
    static let minimumLength = 12

    static func read(file: String?, environment variable: String = "HAVEN_PASSPHRASE", prompt: String, confirm: Bool = false) throws -> SecretBytes {
        if let file {
            var bytes = try SecretFile.read(file, what: "the passphrase")
            return try SecretBytes(consuming: &bytes)
        }
        if let value = ProcessInfo.processInfo.environment[variable] {
            var bytes = Array(value.utf8)
            return try SecretBytes(consuming: &bytes)
        }
        guard isatty(STDIN_FILENO) == 1 else { throw KeyFileError.noPassphrase }
        let first = try ask(prompt)
        if confirm {
            let second = try ask("Repeat the passphrase: ")
            guard first.constantTimeEquals(second) else { throw KeyFileError.corrupt(path: "(prompt)", reason: "the passphrases differ") }
        }
        return first
    }

    /// Checks a new passphrase's length.
    static func requireStrong(_ passphrase: SecretBytes) throws {
        guard passphrase.count >= minimumLength else { throw KeyFileError.weakPassphrase(minimum: minimumLength) }
    }

    private static func ask(_ prompt: String) throws -> SecretBytes {
        guard let typed = getpass(prompt) else { throw KeyFileError.noPassphrase }
        let length = strlen(typed)
        defer { memset(typed, 0, length) }
        return try SecretBytes(count: length) { buffer in
            if length > 0 { buffer.copyMemory(from: UnsafeRawBufferPointer(start: typed, count: length)) }
        }
    }
}
