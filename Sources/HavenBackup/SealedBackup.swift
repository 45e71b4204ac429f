public import Foundation
public import Sodium

/// The file format of a backup: a database file encrypted so that only the holder of the backup
/// key can read it, signed by the server that made it, so that any change, reordering or
/// truncation, or a backup sealed by anyone else, is detected (docs/crypto.md, "Backups").
///
/// `magic ‖ signer ‖ made at ‖ crypto_box_seal(stream key) ‖ secretstream header ‖ chunks ‖
/// signature`: the 32-byte stream key is random per backup and sealed to the backup key's X25519
/// public key; the file follows in XChaCha20-Poly1305 secretstream chunks of 1 MiB, the last
/// tagged final; `signer` is the server's Ed25519 public key, `made at` 8 bytes of Unix seconds
/// (big-endian), and `signature` its Ed25519ph signature of the label `haven/v1/backup` and every
/// byte before it. The server holds only the backup key's public half, so a stolen server cannot
/// open its own backups; anyone may seal to that public half, but only the server can sign.
public enum SealedBackup {
    /// Who signed a backup, and when it says it was made: checked before anything in it is used.
    public struct Signed: Sendable, Equatable {
        /// The server key that signed it.
        public let signer: SigningPublicKey
        /// When it was made (Unix seconds), as signed.
        public let madeAt: Int64
    }

    /// The first bytes of every backup, with the format's version.
    static let magic = Array("HAVENBK2".utf8)
    static let signatureLabel = "haven/v1/backup"
    /// Plaintext bytes per chunk.
    static let chunkBytes = 1024 * 1024
    static let sealedKeyLength = SecretStream.keyLength + SealedBox.overhead
    static let headerLength = magic.count + SigningPublicKey.length + 8 + sealedKeyLength + SecretStream.headerLength

    /// Encrypts the file at `source` to `publicKey`, signed by `server` as made at `madeAt`,
    /// writing the backup to `output`.
    ///
    /// - Throws: ``BackupError/file(path:reason:)``.
    public static func seal(
        _ source: String, to publicKey: BoxPublicKey, signedBy server: SigningKeyPair, madeAt: Int64, into output: FileHandle, path: String
    ) throws {
        let input = try open(forReading: source)
        defer { try? input.close() }
        var signature = MultipartSignature(label: signatureLabel)
        func emit(_ bytes: [UInt8]) throws {
            signature.update(bytes)
            try write(bytes, to: output, path: path)
        }
        let key = try SecretBytes.random(count: SecretStream.keyLength)
        let pusher = try SecretStreamPusher(key: key)
        try emit(magic + server.publicKey.bytes + bigEndianBytes(madeAt) + publicKey.seal(key) + pusher.header)
        var chunk = try read(chunkBytes, from: input, path: source)
        while true {
            let next = chunk.count < chunkBytes ? [] : try read(chunkBytes, from: input, path: source)
            let isFinal = next.isEmpty
            try emit(pusher.push(chunk, isFinal: isFinal))
            if isFinal { break }
            chunk = next
        }
        try write(signature.sign(by: server), to: output, path: path)
        do { try output.synchronize() } catch { throw BackupError.file(path: path, reason: "\(error)") }
    }

    /// Decrypts the backup at `source` with `keyPair` into `destination` (created with mode
    /// 0600), checking its signature over every byte read in the same pass (so a file changed
    /// while it is read is caught too). A backup whose header names another signer than
    /// `expected` is refused before anything is decrypted. What is written is not to be used
    /// unless this returns.
    ///
    /// - Throws: ``BackupError/notABackup(path:)``, ``BackupError/wrongSigner(path:found:expected:)``,
    ///   ``BackupError/wrongKey(path:)``, ``BackupError/damaged(path:reason:)`` or
    ///   ``BackupError/file(path:reason:)``.
    public static func open(_ source: String, with keyPair: BoxKeyPair, expecting expected: SigningPublicKey, into destination: String) throws -> Signed {
        let input = try open(forReading: source)
        defer { try? input.close() }
        let size: UInt64
        do { size = try input.seekToEnd(); try input.seek(toOffset: 0) } catch { throw BackupError.file(path: source, reason: "\(error)") }
        guard size >= UInt64(headerLength + SecretStream.chunkOverhead + SigningPublicKey.signatureLength) else {
            throw try read(magic.count, from: input, path: source) == magic
                ? BackupError.damaged(path: source, reason: "it ends before its first part")
                : BackupError.notABackup(path: source)
        }
        var remaining = size - UInt64(SigningPublicKey.signatureLength)
        var signature = MultipartSignature(label: signatureLabel)
        func take(_ count: Int) throws -> [UInt8] {
            let bytes = try read(Int(min(UInt64(count), remaining)), from: input, path: source)
            remaining -= UInt64(bytes.count)
            signature.update(bytes)
            return bytes
        }
        let header = try take(headerLength)
        guard Array(header.prefix(magic.count)) == magic else { throw BackupError.notABackup(path: source) }
        var offset = magic.count
        func field(_ length: Int) -> [UInt8] {
            defer { offset += length }
            return Array(header[offset..<offset + length])
        }
        guard let signer = try? SigningPublicKey(bytes: field(SigningPublicKey.length)) else {
            throw BackupError.damaged(path: source, reason: "its signer is not a key")
        }
        guard signer == expected else {
            throw BackupError.wrongSigner(path: source, found: Base64URL.encode(signer.bytes), expected: Base64URL.encode(expected.bytes))
        }
        let madeAt = field(8).reduce(Int64(0)) { $0 << 8 | Int64($1) }
        let sealedKey = field(sealedKeyLength)
        let streamHeader = field(SecretStream.headerLength)
        let key: SecretBytes
        do { key = try keyPair.openSecret(sealedKey) } catch { throw BackupError.wrongKey(path: source) }
        let puller = try SecretStreamPuller(key: key, header: streamHeader)
        let output = try create(destination)
        defer { try? output.close() }
        while remaining > 0 {
            let chunk = try take(chunkBytes + SecretStream.chunkOverhead)
            guard !chunk.isEmpty else { throw BackupError.damaged(path: source, reason: "it was cut off while it was read") }
            do {
                try write(try puller.pull(chunk), to: output, path: destination)
            } catch let error as SodiumError {
                throw BackupError.damaged(path: source, reason: error == .streamDataAfterFinal ? "it goes on past its end" : "a part was altered or moved")
            }
        }
        do { try puller.finish() } catch { throw BackupError.damaged(path: source, reason: "it was cut off before its end") }
        let signed = try read(SigningPublicKey.signatureLength, from: input, path: source)
        do { try signature.verify(signed, by: signer) } catch {
            throw BackupError.damaged(path: source, reason: "its signature does not match what it holds")
        }
        return Signed(signer: signer, madeAt: madeAt)
    }

    private static func bigEndianBytes(_ value: Int64) -> [UInt8] {
        (0..<8).map { UInt8(truncatingIfNeeded: value >> (8 * (7 - $0))) }
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
