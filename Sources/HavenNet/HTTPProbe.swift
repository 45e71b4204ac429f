import Foundation

/// One HTTP/1.1 GET over TCP, TLS or a Unix-domain socket, answered whole: for an operator's health checks
/// (`haven doctor`), never for traffic. It runs its own loop and waits; call it off any loop.
public enum HTTPProbe {
    /// What the server answered.
    public struct Answer: Sendable {
        /// The status code.
        public let status: Int
        /// Header fields, names in lower case.
        public let headers: [String: String]
        /// The body.
        public let body: [UInt8]
    }

    /// Why a probe got no answer.
    public struct Failure: Error, CustomStringConvertible {
        /// What went wrong, for the operator.
        public let description: String
        /// Nothing took the connection (refused, unreachable): another address may answer.
        public var isUnreachable = false
    }

    /// GETs `path` from `endpoint`, over TLS with `tls` (TCP only), sending `headers` besides
    /// `Host`.
    ///
    /// - Throws: ``Failure`` when no complete answer arrives within `timeout` seconds (refused,
    ///   a TLS failure such as an untrusted certificate, a malformed answer, silence).
    public static func get(
        _ endpoint: SocketEndpoint, path: String, hostHeader: String, headers: [String: String] = [:], tls: TLSClientSettings?,
        timeout: Double = 10
    ) throws -> Answer {
        let loop = try EventLoop()
        loop.start()
        defer { loop.shutdown() }
        let outcome = Locked<Result<Answer, Failure>?>(nil)
        let done = DispatchSemaphore(value: 0)
        let finish: @Sendable (Result<Answer, Failure>) -> Void = { result in
            outcome.withLock { if $0 == nil { $0 = result; done.signal() } }
        }
        let extra = headers.map { "\($0.key): \($0.value)\r\n" }.joined()
        let request = Array("GET \(path) HTTP/1.1\r\nHost: \(hostHeader)\r\n\(extra)Connection: close\r\n\r\n".utf8)
        loop.execute {
            let opened = { (result: Result<any ByteStream, any Error>) in
                switch result {
                case .failure(let error): finish(.failure(Failure(description: "\(error)", isUnreachable: error is UVError)))
                case .success(let stream): exchange(request, on: stream, then: finish)
                }
            }
            switch (endpoint, tls) {
            case (.tcp(let host, let port), let tls?):
                TLSStream.connect(loop: loop, host: host, port: port, settings: tls) { opened($0.map { $0 }) }
            case (.unix, _?):
                finish(.failure(Failure(description: "TLS goes over TCP, not a Unix-domain socket")))
            case (_, nil):
                SocketStream.connect(loop: loop, to: endpoint) { opened($0.map { $0 }.mapError { $0 }) }
            }
        }
        guard done.wait(timeout: .now() + timeout) == .success, let result = outcome.withLock({ $0 }) else {
            throw Failure(description: "no answer within \(Int(timeout)) s")
        }
        return try result.get()
    }

    private static func exchange(_ request: [UInt8], on stream: any ByteStream, then finish: @escaping @Sendable (Result<Answer, Failure>) -> Void) {
        var limits = HTTPLimits()
        limits.maxBodyBytes = 1024 * 1024
        let parser = HTTPParser(kind: .response, limits: limits)
        stream.onRead = { bytes in
            do {
                if case .complete(let message, _) = try parser.feed(bytes) {
                    let headers = Dictionary(message.headers.map { ($0.name.lowercased(), $0.value) }) { first, _ in first }
                    finish(.success(Answer(status: message.status, headers: headers, body: message.body)))
                    stream.close()
                }
            } catch {
                finish(.failure(Failure(description: "a malformed answer: \(error)")))
                stream.close()
            }
        }
        stream.onClose = { finish(.failure(Failure(description: "the connection closed before a whole answer"))) }
        stream.startReading()
        stream.write(OutboundBytes(request))
    }
}
