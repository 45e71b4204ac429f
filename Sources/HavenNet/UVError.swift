import CUV

/// A failed libuv call: which function, and libuv's error name and message.
public struct UVError: Error, Equatable, Sendable, CustomStringConvertible {
    /// libuv's negative status code (e.g. `UV_EADDRINUSE`).
    public let code: Int32
    /// The libuv function that returned it.
    public let function: String

    /// libuv's short name for the code, e.g. "EADDRINUSE".
    public var name: String { String(cString: uv_err_name(code)) }

    public var description: String {
        "\(function) failed: \(String(cString: uv_strerror(code))) (\(name))"
    }
}

/// Runs a libuv call that returns a status and turns a negative status into a ``UVError``.
@discardableResult
func uv(_ function: String, _ call: () -> Int32) throws(UVError) -> Int32 {
    let status = call()
    guard status >= 0 else { throw UVError(code: status, function: function) }
    return status
}
