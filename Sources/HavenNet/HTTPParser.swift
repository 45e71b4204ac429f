import CHTTPParser

/// Incremental HTTP/1.1 parsing over http-parser, with Haven's limits. One instance per
/// connection; feed it bytes as they arrive. Loop thread only.
///
/// The C callbacks only collect bytes and return a status; a limit breach is recorded in
/// ``failure`` and stops the parser, and ``feed(_:)`` turns it into a thrown error.
public final class HTTPParser {
    /// What the parser is reading.
    public enum Kind { case request, response }

    /// The outcome of one ``feed(_:)``.
    public enum Progress: Equatable {
        /// The message is not complete yet; every byte was consumed.
        case needMore
        /// A complete message, and how many of the fed bytes it used; the rest belong to the next
        /// message or, after an upgrade, to the new protocol.
        case complete(HTTPMessage, consumed: Int)
    }

    // Heap-allocated: the C callbacks read the parser while http_parser_execute runs, which
    // Swift's exclusivity rules forbid for an inout stored property.
    private let parser = UnsafeMutablePointer<http_parser>.allocate(capacity: 1)
    private let settings = UnsafeMutablePointer<http_parser_settings>.allocate(capacity: 1)
    private let limits: HTTPLimits
    private var message = HTTPMessage()
    private var headerName: [UInt8] = []
    private var headerValue: [UInt8] = []
    private var target: [UInt8] = []
    private var inValue = false
    private var headerBytes = 0
    private var completed = false
    private var failure: HTTPParseError?
    /// The largest body the current message may have.
    private var bodyLimit: Int
    /// Decides, once a request's head is complete and before its body is read, how large a body
    /// it may have, or refuses it (nil: ``HTTPLimits/maxBodyBytes``).
    public var bodyAllowance: ((HTTPMessage) -> Result<Int, HTTPParseError>)?
    /// Takes the body of the current message as it arrives instead of keeping it in the message
    /// (the bytes are valid only during the call); set by ``bodyAllowance``, cleared after each
    /// message.
    public var bodySink: ((UnsafeRawBufferPointer) -> Void)?
    private var bodyBytes = 0

    /// Creates a parser for requests or responses.
    public init(kind: Kind, limits: HTTPLimits = HTTPLimits()) {
        self.limits = limits
        bodyLimit = limits.maxBodyBytes
        http_parser_init(parser, kind == .request ? HTTP_REQUEST : HTTP_RESPONSE)
        http_parser_settings_init(settings)
        settings.pointee.on_url = { parser, data, length in
            HTTPParser.from(parser).appendTarget(data, length)
        }
        settings.pointee.on_header_field = { parser, data, length in
            HTTPParser.from(parser).appendHeaderName(data, length)
        }
        settings.pointee.on_header_value = { parser, data, length in
            HTTPParser.from(parser).appendHeaderValue(data, length)
        }
        settings.pointee.on_headers_complete = { parser in
            HTTPParser.from(parser).headersComplete()
        }
        settings.pointee.on_body = { parser, data, length in
            HTTPParser.from(parser).appendBody(data, length)
        }
        settings.pointee.on_message_complete = { parser in
            let me = HTTPParser.from(parser)
            me.completed = true
            // Stop after one message: pipelined bytes are handed back to the caller.
            http_parser_pause(parser, 1)
            return 0
        }
    }

    deinit {
        parser.deallocate()
        settings.deallocate()
    }

    /// Parses `bytes`. Call again with the unconsumed rest after a complete message.
    ///
    /// - Throws: ``HTTPParseError`` for malformed input or a limit breach; the connection should
    ///   then be answered with the error's status and closed.
    public func feed(_ bytes: UnsafeRawBufferPointer) throws(HTTPParseError) -> Progress {
        parser.pointee.data = Unmanaged.passUnretained(self).toOpaque()
        defer { parser.pointee.data = nil }
        let consumed = http_parser_execute(parser, settings, bytes.baseAddress?.assumingMemoryBound(to: CChar.self), bytes.count)
        if let failure { throw failure }
        let error = http_errno(rawValue: parser.pointee.http_errno)
        if completed {
            completed = false
            var done = message
            done.keepAlive = http_should_keep_alive(parser) != 0
            done.isUpgrade = parser.pointee.upgrade == 1
            message = HTTPMessage()
            target = []
            headerBytes = 0
            bodyBytes = 0
            bodySink = nil
            bodyLimit = limits.maxBodyBytes
            http_parser_pause(parser, 0)
            return .complete(done, consumed: consumed)
        }
        guard error == HPE_OK else {
            throw .malformed(reason: String(cString: http_errno_description(error)))
        }
        return .needMore
    }

    private static func from(_ parser: UnsafeMutablePointer<http_parser>?) -> HTTPParser {
        Unmanaged<HTTPParser>.fromOpaque(parser!.pointee.data).takeUnretainedValue()
    }

    private func fail(_ error: HTTPParseError) -> Int32 {
        failure = error
        return 1
    }

    private func appendTarget(_ data: UnsafePointer<CChar>?, _ length: Int) -> Int32 {
        guard target.count + length <= limits.maxTargetBytes else { return fail(.targetTooLong(limit: limits.maxTargetBytes)) }
        target += UnsafeRawBufferPointer(start: data, count: length)
        return 0
    }

    private func appendHeaderName(_ data: UnsafePointer<CChar>?, _ length: Int) -> Int32 {
        if inValue {
            finishHeader()
            guard message.headers.count < limits.maxHeaderCount else { return fail(.tooManyHeaders(limit: limits.maxHeaderCount)) }
        }
        return appendHeaderBytes(data, length, to: &headerName)
    }

    private func appendHeaderValue(_ data: UnsafePointer<CChar>?, _ length: Int) -> Int32 {
        inValue = true
        return appendHeaderBytes(data, length, to: &headerValue)
    }

    private func appendHeaderBytes(_ data: UnsafePointer<CChar>?, _ length: Int, to field: inout [UInt8]) -> Int32 {
        headerBytes += length
        guard headerBytes <= limits.maxHeaderBytes else { return fail(.headersTooLarge(limit: limits.maxHeaderBytes)) }
        field += UnsafeRawBufferPointer(start: data, count: length)
        return 0
    }

    private func finishHeader() {
        message.headers.append((String(decoding: headerName, as: UTF8.self), String(decoding: headerValue, as: UTF8.self)))
        headerName = []
        headerValue = []
        inValue = false
    }

    private func headersComplete() -> Int32 {
        if inValue { finishHeader() }
        guard message.headers.count <= limits.maxHeaderCount else { return fail(.tooManyHeaders(limit: limits.maxHeaderCount)) }
        message.target = String(decoding: target, as: UTF8.self)
        message.method = parser.pointee.type == HTTP_REQUEST.rawValue
            ? String(cString: http_method_str(http_method(rawValue: parser.pointee.method))) : ""
        message.status = Int(parser.pointee.status_code)
        switch bodyAllowance?(message) ?? .success(limits.maxBodyBytes) {
        case .success(let limit): bodyLimit = limit
        case .failure(let refusal): return fail(refusal)
        }
        guard parser.pointee.content_length == UInt64.max || parser.pointee.content_length <= UInt64(bodyLimit) else {
            return fail(.bodyTooLarge(limit: bodyLimit))
        }
        return 0
    }

    private func appendBody(_ data: UnsafePointer<CChar>?, _ length: Int) -> Int32 {
        guard bodyBytes + length <= bodyLimit else { return fail(.bodyTooLarge(limit: bodyLimit)) }
        bodyBytes += length
        let bytes = UnsafeRawBufferPointer(start: data, count: length)
        if let bodySink { bodySink(bytes) } else { message.body += bytes }
        return 0
    }
}
