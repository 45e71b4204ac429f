import Foundation
public import Sodium

/// The file format of a backup: a database file encrypted so that only the holder of the backup
/// key can read it, and any change, reordering or truncation is detected (docs/crypto.md,
/// "Backups").
///
/// `magic ‖ crypto_box_seal(stream key) ‖ secretstream header ‖ chunks`: the 32-byte stream key
/// is random per backup and sealed to the backup key's X25519 public key; the file follows in
/// XChaCha20-Poly1305 secretstream chunks of 1 MiB, the last tagged final. The server holds only
/// the public key, so a stolen server cannot open its own backups.
public enum SealedBackup {
    /// The first bytes of every backup, with the format's version.
    static let magic = Array("HAVENBK1".utf8)
    /// Plaintext bytes per chunk.
    static let chunkBytes = 1024 * 1024
    static let sealedKeyLength = SecretStream.keyLength + SealedBox.overhead

    /// Encrypts the file at `source` to `publicKey`, writing the backup to `destination`
    /// (created with mode 0600).
    ///
    /// - Throws: ``BackupError/file(path:reason:)``.
    public static func seal(_ source: String, to publicKey: BoxPublicKey, into destination: String) throws {
        let input = try open(forReading: source)
        defer { try? input.close() }
        let output = try create(destination)
        defer { try? output.close() }
        let key = try SecretBytes.random(count: SecretStream.keyLength)
        let pusher = try SecretStreamPusher(key: key)
        try write(magic + publicKey.seal(key) + pusher.header, to: output, path: destination)
        var chunk = try read(chunkBytes, from: input, path: source)
        while true {
            let next = chunk.count < chunkBytes ? [] : try read(chunkBytes, from: input, path: source)
            let isFinal = next.isEmpty
            try write(pusher.push(chunk, isFinal: isFinal), to: output, path: destination)
            if isFinal { break }
            chunk = next
        }
        do { try output.synchronize() } catch { throw BackupError.file(path: destination, reason: "\(error)") }
    }

    /// Decrypts the backup at `source` with `keyPair`, writing the database to `destination`
    /// (created with mode 0600).
    ///
    /// - Throws: ``BackupError/notABackup(path:)``, ``BackupError/wrongKey(path:)``,
    ///   ``BackupError/damaged(path:reason:)`` or ``BackupError/file(path:reason:)``.
    public static func open(_ source: String, with keyPair: BoxKeyPair, into destination: String) throws {
        let input = try open(forReading: source)
        defer { try? input.close() }
        guard try read(magic.count, from: input, path: source) == magic else { throw BackupError.notABackup(path: source) }
        let sealedKey = try read(sealedKeyLength, from: input, path: source)
        let header = try read(SecretStream.headerLength, from: input, path: source)
        guard sealedKey.count == sealedKeyLength, header.count == SecretStream.headerLength else {
            throw BackupError.damaged(path: source, reason: "it ends before its first part")
        }
        let key: SecretBytes
        do { key = try keyPair.openSecret(sealedKey) } catch { throw BackupError.wrongKey(path: source) }
        let puller = try SecretStreamPuller(key: key, header: header)
        let output = try create(destination)
        defer { try? output.close() }
        while case let chunk = try read(chunkBytes + SecretStream.chunkOverhead, from: input, path: source), !chunk.isEmpty {
            do {
                try write(try puller.pull(chunk), to: output, path: destination)
            } catch let error as SodiumError {
                throw BackupError.damaged(path: source, reason: error == .streamDataAfterFinal ? "it goes on past its end" : "a part was altered or moved")
            }
        }
        do { try puller.finish() } catch { throw BackupError.damaged(path: source, reason: "it was cut off before its end") }
    }

    private static func open(forReading path: String) throws -> FileHandle {
        guard let handle = FileHandle(forReadingAtPath: path) else { throw BackupError.file(path: path, reason: "cannot be read") }
        return handle
    }

    private static func create(_ path: String) throws -> FileHandle {
        guard FileManager.default.createFile(atPath: path, contents: nil, attributes: [.posixPermissions: 0o600]),
              let handle = FileHandle(forWritingAtPath: path)
        else { throw BackupError.file(path: path, reason: "cannot be created") }
        return handle
    }

    private static func read(_ count: Int, from handle: FileHandle, path: String) throws -> [UInt8] {
        do {
            return try handle.read(upToCount: count).map(Array.init) ?? []
        } catch {
            throw BackupError.file(path: path, reason: "\(error)")
        }
    }

    private static func write(_ bytes: [UInt8], to handle: FileHandle, path: String) throws {
        do { try handle.write(contentsOf: bytes) } catch { throw BackupError.file(path: path, reason: "\(error)") }
    }
}
