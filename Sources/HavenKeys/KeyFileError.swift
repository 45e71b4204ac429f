/// Why a key file could not be written, read or opened, in words an operator can act on.
public enum KeyFileError: Error, Equatable, Sendable, CustomStringConvertible {
    /// There is no key file at the path.
    case missing(path: String)
    /// There is no backup key (or its public key) at the path.
    case missingBackupKey(path: String)
    /// A key file already exists where a new one would be written.
    case exists(path: String)
    /// The file is not a Haven key file, or it was altered.
    case corrupt(path: String, reason: String)
    /// The passphrase does not open the file.
    case wrongPassphrase(path: String)
    /// Group or others may read or write the secret file.
    case insecurePermissions(path: String, mode: Int)
    /// The passphrase is too short to protect the key.
    case weakPassphrase(minimum: Int)
    /// No passphrase was given and none can be asked for.
    case noPassphrase
    /// The file could not be read or written.
    case io(path: String, reason: String)

    public var description: String {
        switch self {
        case .missing(let path):
            return "no key at \(path); create one with `haven keys init`"
        case .missingBackupKey(let path):
            return "no backup key at \(path); create one with `haven backup keygen` on a machine other than the server, and copy backup.pub to the server"
        case .exists(let path):
            return "\(path) already exists; refusing to overwrite a key (move it away first)"
        case .corrupt(let path, let reason):
            return "\(path) is not a valid Haven key file: \(reason)"
        case .wrongPassphrase(let path):
            return "wrong passphrase for \(path)"
        case .insecurePermissions(let path, let mode):
            return "\(path) has mode \(String(mode, radix: 8, uppercase: false).leftPadded(to: 4)), readable or writable by others; run `chmod 600 \(path)`"
        case .weakPassphrase(let minimum):
            return "the passphrase must be at least \(minimum) characters"
        case .noPassphrase:
            return "no passphrase: set HAVEN_PASSPHRASE, pass --passphrase-file, or run in a terminal to be asked"
        case .io(let path, let reason):
            return "cannot access \(path): \(reason)"
        }
    }
}

extension String {
    func leftPadded(to length: Int) -> String {
        String(repeating: "0", count: max(0, length - count)) + self
    }
}
