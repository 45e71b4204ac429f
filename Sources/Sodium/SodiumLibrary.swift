import CSodium

/// Initialises libsodium exactly once per process.
///
/// Every public entry point of this module calls ``SodiumLibrary/ensureInitialized()``
/// before its first libsodium call; `sodium_init` is itself thread-safe and idempotent,
/// and the static initialiser makes the check cheap after the first call.
public enum SodiumLibrary {
    private static let status: Int32 = sodium_init()

    /// The libsodium version string, e.g. "1.0.18".
    public static var version: String { String(cString: sodium_version_string()) }

    /// Precondition-checks that libsodium initialised; failure means the process cannot do crypto at all.
    static func ensureInitialized() {
        precondition(status >= 0, SodiumError.initializationFailed.description)
    }
}

/// Checks that `bytes` has exactly `expected` bytes, naming `what` in the error.
func requireLength(_ bytes: some Collection, _ expected: Int, _ what: String) throws(SodiumError) {
    guard bytes.count == expected else {
        throw .wrongLength(what: what, length: bytes.count, expected: expected)
    }
}
