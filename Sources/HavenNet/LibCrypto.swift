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

/// HMAC-SHA1 from OpenSSL's libcrypto, used only where a peer requires it: coturn's TURN REST
/// API (`use-auth-secret`) derives time-limited TURN passwords this way.
public enum HMACSHA1 {
    /// The 20-byte HMAC-SHA1 of `message` under `key`.
    public static func authenticate(_ message: [UInt8], key: [UInt8]) -> [UInt8] {
        var output = [UInt8](repeating: 0, count: Int(EVP_MAX_MD_SIZE))
        var length: UInt32 = 0
        _ = HMAC(EVP_sha1(), key, Int32(key.count), message, message.count, &output, &length)
        return Array(output.prefix(Int(length)))
    }
}
