import CCrypto
import Foundation

/// Why a TLS connection could not be made.
public enum TLSError: Error, Equatable, Sendable, CustomStringConvertible {
    /// OpenSSL could not set up the context (the CA file could not be read, say).
    case setup(String)
    /// The handshake failed: the server's certificate did not verify for the name, or the
    /// protocol failed; the reason is OpenSSL's.
    case handshake(String)

    public var description: String {
        switch self {
        case .setup(let reason): return "TLS setup failed: \(reason)"
        case .handshake(let reason): return "TLS handshake failed: \(reason)"
        }
    }
}

/// How a client checks the server it speaks TLS to.
public struct TLSClientSettings: Sendable, Equatable {
    /// The name the certificate must be for (also sent as SNI); an IP address is matched as one.
    public var serverName: String
    /// PEM file of the certificates to trust instead of the system's.
    public var caFile: String?

    /// Settings for `serverName`, trusting the system's certificates or those in `caFile`.
    public init(serverName: String, caFile: String? = nil) {
        self.serverName = serverName
        self.caFile = caFile
    }
}

/// The client side of TLS over a ``SocketStream``, with OpenSSL working on memory buffers: bytes
/// read from the socket go in, plaintext comes out to ``onRead``; plaintext written goes out as
/// records on the socket. The server's certificate must chain to a trusted root and be for
/// ``TLSClientSettings/serverName``. Loop thread only.
public final class TLSStream: ByteStream {
    public var onRead: (UnsafeRawBufferPointer) -> Void = { _ in }
    public var onClose: () -> Void = {}
    public var queuedBytes: Int { tcp.queuedBytes }

    private let tcp: SocketStream
    private let context: OpaquePointer
    private let ssl: OpaquePointer
    private let input: OpaquePointer
    private let output: OpaquePointer
    private var handshakeDone: ((Result<TLSStream, TLSError>) -> Void)?
    private var pendingPlaintext: [OutboundBytes] = []
    /// Where decrypted records land, reused for every read (one TLS record at most).
    private var plaintext = [UInt8](repeating: 0, count: 16_384)

    private init(tcp: SocketStream, settings: TLSClientSettings) throws(TLSError) {
        self.tcp = tcp
        guard let context = SSL_CTX_new(TLS_client_method()) else { throw .setup(Self.lastError()) }
        self.context = context
        SSL_CTX_set_verify(context, SSL_VERIFY_PEER, nil)
        _ = haven_ssl_ctx_require_tls12(context)
        let loaded = settings.caFile.map { SSL_CTX_load_verify_locations(context, $0, nil) } ?? SSL_CTX_set_default_verify_paths(context)
        guard loaded == 1, let ssl = SSL_new(context), let input = BIO_new(BIO_s_mem()), let output = BIO_new(BIO_s_mem()) else {
            let reason = Self.lastError()
            SSL_CTX_free(context)
            throw .setup(settings.caFile.map { "cannot read \($0): \(reason)" } ?? reason)
        }
        self.ssl = ssl
        self.input = input
        self.output = output
        // An empty input buffer means "more is coming from the socket", not the end of the stream.
        _ = haven_bio_empty_means_retry(input)
        SSL_set_bio(ssl, input, output)
        let isAddress = settings.serverName.allSatisfy { $0.isHexDigit || $0 == "." || $0 == ":" } && settings.serverName.contains { $0 == "." || $0 == ":" }
            && settings.serverName.contains { $0.isNumber }
        if isAddress {
            X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), settings.serverName)
        } else {
            SSL_set1_host(ssl, settings.serverName)
            _ = haven_ssl_set_server_name(ssl, settings.serverName)
        }
        SSL_set_connect_state(ssl)
    }

    deinit {
        SSL_free(ssl)
        SSL_CTX_free(context)
    }

    /// Connects to `host:port` (an IP address), completes the TLS handshake, and calls
    /// `completion` on the loop thread with the stream or the reason it failed.
    public static func connect(
        loop: EventLoop, host: String, port: Int, settings: TLSClientSettings,
        completion: @escaping (Result<TLSStream, any Error>) -> Void
    ) {
        SocketStream.connect(loop: loop, to: .tcp(host: host, port: port)) { result in
            switch result {
            case .failure(let error):
                completion(.failure(error))
            case .success(let tcp):
                do {
                    let stream = try TLSStream(tcp: tcp, settings: settings)
                    stream.start { completion($0.mapError { $0 }) }
                } catch {
                    tcp.close()
                    completion(.failure(error))
                }
            }
        }
    }

    private func start(_ completion: @escaping (Result<TLSStream, TLSError>) -> Void) {
        handshakeDone = completion
        // The TCP stream's callbacks hold this stream until the connection closes.
        tcp.onRead = { [self] bytes in received(bytes) }
        tcp.onClose = { [self] in
            if let handshakeDone {
                self.handshakeDone = nil
                handshakeDone(.failure(.handshake("the server closed the connection")))
            } else {
                onClose()
            }
            onRead = { _ in }
            onClose = {}
        }
        startReading()
        advance()
    }

    private func received(_ bytes: UnsafeRawBufferPointer) {
        guard bytes.count > 0 else { return }
        _ = BIO_write(input, bytes.baseAddress, Int32(bytes.count))
        advance()
    }

    /// Moves the handshake on, or decrypts what arrived; sends whatever OpenSSL produced.
    private func advance() {
        if let done = handshakeDone {
            let status = SSL_do_handshake(ssl)
            if status == 1 {
                handshakeDone = nil
                flushOutput()
                done(.success(self))
                for plaintext in pendingPlaintext { write(plaintext) }
                pendingPlaintext = []
            } else {
                let error = SSL_get_error(ssl, status)
                flushOutput()
                guard error == SSL_ERROR_WANT_READ || error == SSL_ERROR_WANT_WRITE else {
                    handshakeDone = nil
                    let verify = SSL_get_verify_result(ssl)
                    let reason = verify != X509_V_OK ? Self.string(X509_verify_cert_error_string(verify)) : Self.lastError()
                    tcp.close()
                    done(.failure(.handshake(reason)))
                    return
                }
                return
            }
        }
        while true {
            let count = plaintext.withUnsafeMutableBytes { SSL_read(ssl, $0.baseAddress, Int32($0.count)) }
            guard count > 0 else {
                let error = SSL_get_error(ssl, count)
                flushOutput()
                if error != SSL_ERROR_WANT_READ && error != SSL_ERROR_WANT_WRITE { tcp.close() }
                return
            }
            plaintext.withUnsafeBytes { onRead(UnsafeRawBufferPointer(rebasing: $0[0..<Int(count)])) }
        }
    }

    private func flushOutput() {
        let pending = haven_bio_pending(output)
        guard pending > 0 else { return }
        var bytes = [UInt8](repeating: 0, count: pending)
        let read = bytes.withUnsafeMutableBytes { BIO_read(output, $0.baseAddress, Int32(pending)) }
        if read > 0 { tcp.write(OutboundBytes(bytes.prefix(Int(read)))) }
    }

    public func startReading() {
        tcp.startReading()
    }

    public func stopReading() {
        tcp.stopReading()
    }

    public func write(_ bytes: OutboundBytes) {
        guard handshakeDone == nil else {
            pendingPlaintext.append(bytes)
            return
        }
        guard bytes.count > 0 else { return }
        _ = SSL_write(ssl, bytes.buffer.baseAddress, Int32(bytes.count))
        flushOutput()
    }

    public func closeAfterWriting() {
        SSL_shutdown(ssl)
        flushOutput()
        tcp.closeAfterWriting()
    }

    public func close() { tcp.close() }

    private static func string(_ pointer: UnsafePointer<CChar>?) -> String {
        guard let pointer else { return "unknown" }
        return String(decoding: UnsafeRawBufferPointer(start: pointer, count: strlen(pointer)), as: UTF8.self)
    }

    private static func lastError() -> String {
        let code = ERR_get_error()
        guard code != 0 else { return "unknown OpenSSL error" }
        var buffer = [CChar](repeating: 0, count: 256)
        ERR_error_string_n(code, &buffer, buffer.count)
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
