import CSodium

/// Sizes shared by both ends of a `crypto_secretstream_xchacha20poly1305` stream.
public enum SecretStream {
    /// Key length in bytes (32).
    public static let keyLength = Int(crypto_secretstream_xchacha20poly1305_keybytes())
    /// Header length in bytes (24), sent before the first chunk.
    public static let headerLength = Int(crypto_secretstream_xchacha20poly1305_headerbytes())
    /// Bytes each encrypted chunk adds to its plaintext (17).
    public static let chunkOverhead = Int(crypto_secretstream_xchacha20poly1305_abytes())

    static let finalTag = UInt8(crypto_secretstream_xchacha20poly1305_tag_final())
    static let messageTag = UInt8(crypto_secretstream_xchacha20poly1305_tag_message())
    static let stateLength = crypto_secretstream_xchacha20poly1305_statebytes()

    static func checkKey(_ key: SecretBytes) throws(SodiumError) {
        guard key.count == keyLength else {
            throw .wrongLength(what: "secretstream key", length: key.count, expected: keyLength)
        }
    }
}

/// The encrypting end of a secretstream: a sequence of chunks, the last one tagged final,
/// so that truncation, reordering and appended data are all detected by the reader.
///
/// Not thread-safe: one pusher belongs to one task. Its state lives in secure memory.
public final class SecretStreamPusher {
    /// The header the reader needs to start pulling.
    public let header: [UInt8]
    private let state: UnsafeMutableRawPointer
    private var finished = false

    /// Starts a stream under `key` (see ``SecretStream/keyLength``).
    public init(key: SecretBytes) throws {
        SodiumLibrary.ensureInitialized()
        try SecretStream.checkKey(key)
        guard let state = sodium_malloc(SecretStream.stateLength) else {
            throw SodiumError.secureMemoryUnavailable(bytes: SecretStream.stateLength)
        }
        self.state = state
        var header = [UInt8](repeating: 0, count: SecretStream.headerLength)
        key.withUnsafeBytes { keyBytes in
            _ = crypto_secretstream_xchacha20poly1305_init_push(
                state.assumingMemoryBound(to: crypto_secretstream_xchacha20poly1305_state.self), &header,
                keyBytes.baseAddress!.assumingMemoryBound(to: UInt8.self))
        }
        self.header = header
    }

    /// Encrypts one chunk; pass `isFinal: true` for the last one. Pushing after the final chunk
    /// is a programmer error.
    public func push(_ chunk: [UInt8], isFinal: Bool) -> [UInt8] {
        precondition(!finished, "secretstream: push after the final chunk")
        finished = isFinal
        var output = [UInt8](repeating: 0, count: chunk.count + SecretStream.chunkOverhead)
        _ = crypto_secretstream_xchacha20poly1305_push(
            state.assumingMemoryBound(to: crypto_secretstream_xchacha20poly1305_state.self), &output, nil,
            chunk, UInt64(chunk.count), nil, 0, isFinal ? SecretStream.finalTag : SecretStream.messageTag)
        return output
    }

    deinit { sodium_free(state) }
}

/// The decrypting end of a secretstream.
///
/// Not thread-safe: one puller belongs to one task. Its state lives in secure memory.
public final class SecretStreamPuller {
    private let state: UnsafeMutableRawPointer
    /// True once the chunk tagged final has been pulled.
    public private(set) var isFinished = false

    /// Starts reading a stream under `key` from its `header`.
    ///
    /// - Throws: ``SodiumError/wrongLength(what:length:expected:)`` for a bad key or header.
    public init(key: SecretBytes, header: [UInt8]) throws {
        SodiumLibrary.ensureInitialized()
        try SecretStream.checkKey(key)
        try requireLength(header, SecretStream.headerLength, "secretstream header")
        guard let state = sodium_malloc(SecretStream.stateLength) else {
            throw SodiumError.secureMemoryUnavailable(bytes: SecretStream.stateLength)
        }
        self.state = state
        _ = key.withUnsafeBytes { keyBytes in
            crypto_secretstream_xchacha20poly1305_init_pull(
                state.assumingMemoryBound(to: crypto_secretstream_xchacha20poly1305_state.self), header,
                keyBytes.baseAddress!.assumingMemoryBound(to: UInt8.self))
        }
    }

    /// Decrypts and authenticates the next chunk.
    ///
    /// - Throws: ``SodiumError/streamDataAfterFinal`` after the final chunk,
    ///   ``SodiumError/tooShort(what:length:minimum:)`` for a clipped chunk,
    ///   ``SodiumError/authenticationFailed`` for an altered, reordered or foreign chunk.
    public func pull(_ chunk: [UInt8]) throws(SodiumError) -> [UInt8] {
        guard !isFinished else { throw .streamDataAfterFinal }
        guard chunk.count >= SecretStream.chunkOverhead else {
            throw .tooShort(what: "secretstream chunk", length: chunk.count, minimum: SecretStream.chunkOverhead)
        }
        var output = [UInt8](repeating: 0, count: chunk.count - SecretStream.chunkOverhead)
        var tag: UInt8 = 0
        let status = crypto_secretstream_xchacha20poly1305_pull(
            state.assumingMemoryBound(to: crypto_secretstream_xchacha20poly1305_state.self), &output, nil, &tag,
            chunk, UInt64(chunk.count), nil, 0)
        guard status == 0 else { throw .authenticationFailed }
        isFinished = tag == SecretStream.finalTag
        return output
    }

    /// Confirms the stream ended properly. Call when the input runs out.
    ///
    /// - Throws: ``SodiumError/streamTruncated`` when the final chunk never arrived.
    public func finish() throws(SodiumError) {
        guard isFinished else { throw .streamTruncated }
    }

    deinit { sodium_free(state) }
}
