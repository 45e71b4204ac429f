import CSodium

/// URL-safe base64 without padding (RFC 4648 §5), the encoding of every binary field on the wire.
///
/// Decoding is strict: padding, characters outside `A-Z a-z 0-9 - _`, whitespace and
/// non-zero trailing bits are all rejected, so each byte string has exactly one encoding.
public enum Base64URL {
    private static let variant = Int32(sodium_base64_VARIANT_URLSAFE_NO_PADDING)

    /// Encodes `bytes` as unpadded base64url text.
    public static func encode(_ bytes: [UInt8]) -> String {
        SodiumLibrary.ensureInitialized()
        let capacity = sodium_base64_encoded_len(bytes.count, variant)
        var text = [CChar](repeating: 0, count: capacity)
        bytes.withUnsafeBufferPointer { input in
            _ = sodium_bin2base64(&text, capacity, input.baseAddress, input.count, variant)
        }
        return String(decoding: text.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// Decodes unpadded base64url text.
    ///
    /// - Throws: ``SodiumError/invalidBase64(length:)`` for any text that is not canonical base64url.
    public static func decode(_ text: String) throws(SodiumError) -> [UInt8] {
        SodiumLibrary.ensureInitialized()
        let characters = Array(text.utf8)
        var output = [UInt8](repeating: 0, count: characters.count * 3 / 4 + 1)
        var decodedLength = 0
        let status = characters.withUnsafeBufferPointer { input in
            input.withMemoryRebound(to: CChar.self) { chars in
                sodium_base642bin(
                    &output, output.count, chars.baseAddress, chars.count, nil, &decodedLength, nil, variant)
            }
        }
        guard status == 0 else { throw .invalidBase64(length: characters.count) }
        return Array(output.prefix(decodedLength))
    }
}
