import CCrypto

/// SHA-1 from OpenSSL's libcrypto, used only where RFC 6455 requires it: the
/// `Sec-WebSocket-Accept` handshake value. Never used for anything security-bearing.
enum SHA1 {
    static func digest(_ bytes: [UInt8]) -> [UInt8] {
        var output = [UInt8](repeating: 0, count: Int(SHA_DIGEST_LENGTH))
        _ = CCrypto.SHA1(bytes, bytes.count, &output)
        return output
    }
}
