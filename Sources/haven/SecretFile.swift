import Foundation

/// A file that holds a secret (a passphrase, the TURN secret, the metrics token): read only if no
/// other user can read it, without its trailing newline.
enum SecretFile {
    /// The bytes of `path`, which names `what` in errors.
    ///
    /// - Throws: ``SecretFileError`` when the file cannot be read, is empty, or is readable by
    ///   its group or by others.
    static func read(_ path: String, what: String) throws(SecretFileError) -> [UInt8] {
        guard let attributes = try? FileManager.default.attributesOfItem(atPath: path),
              var bytes = FileManager.default.contents(atPath: path).map(Array.init)
        else { throw SecretFileError("cannot read \(what) from \(path)") }
        let mode = (attributes[.posixPermissions] as? Int) ?? 0
        guard mode & 0o077 == 0 else {
            throw SecretFileError("\(path) holds \(what) but other users can read it (mode \(String(mode, radix: 8))): run chmod 600 \(path)")
        }
        while let last = bytes.last, last == 0x0A || last == 0x0D { bytes.removeLast() }
        guard !bytes.isEmpty else { throw SecretFileError("\(path) is empty; it should hold \(what)") }
        return bytes
    }
}

/// Why a secret file was not read.
struct SecretFileError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
