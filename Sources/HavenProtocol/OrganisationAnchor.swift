public import Sodium

/// What a client pins to trust staff: the organisation's public key, handed to it by the provider
/// (the widget's embedding snippet or hosted page, `haven chat --organisation-key`), never by the
/// chat server.
public enum OrganisationAnchor {
    /// A short, readable fingerprint of the organisation key for people to compare: BLAKE2b-160
    /// of the key in ten groups of four hex digits (the widget shows the same).
    public static func fingerprint(of key: SigningPublicKey) -> String {
        let digest = (try? GenericHash.hash(key.bytes, outputLength: 20)) ?? []
        let hex = digest.map { byte in String(byte, radix: 16, uppercase: true).leftPadded(to: 2) }.joined()
        return stride(from: 0, to: hex.count, by: 4).map { offset in
            String(hex.dropFirst(offset).prefix(4))
        }.joined(separator: " ")
    }

    /// The URL fragment that pins the key (and the server's name) for a widget served by Haven:
    /// `org=…&server=…`, to which an invite link adds `&invite=…`.
    public static func fragment(organisation: SigningPublicKey, serverName: String?) -> String {
        var parts = ["org=\(Base64URL.encode(organisation.bytes))"]
        if let serverName, let name = serverName.addingPercentEncodingForFragment() { parts.append("server=\(name)") }
        return parts.joined(separator: "&")
    }
}

extension String {
    fileprivate func leftPadded(to width: Int) -> String { String(repeating: "0", count: max(0, width - count)) + self }

    /// Letters, digits and `.-_~` pass; everything else is percent-encoded (names are host names).
    fileprivate func addingPercentEncodingForFragment() -> String? {
        var out = ""
        for byte in utf8 {
            let scalar = Unicode.Scalar(byte)
            if scalar.properties.isAlphabetic && byte < 0x80 || (0x30...0x39).contains(byte) || ".-_~".utf8.contains(byte) {
                out.unicodeScalars.append(scalar)
            } else {
                out += "%" + String(byte, radix: 16, uppercase: true).leftPadded(to: 2)
            }
        }
        return out.isEmpty ? nil : out
    }
}
