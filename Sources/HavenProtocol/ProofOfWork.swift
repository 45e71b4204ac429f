import Sodium

/// The proof of work a new identity shows at login while the server asks for one (the
/// challenge's `work`, in bits): an 8-byte `proof` such that BLAKE2b-256 of the canonical bytes
/// (label "haven/v1/proof-of-work", the server's name, the challenge nonce, the member's key)
/// followed by the proof starts with `work` zero bits. Bound to one connection's challenge and one
/// key, it cannot be computed ahead of time or used twice (docs/crypto.md, "Login").
public enum ProofOfWork {
    /// Length of a proof in bytes.
    public static let proofLength = 8
    /// The most work a client does, whatever a server asks (about 4 million hashes, seconds on a
    /// phone): what a Haven server asks at the height of a flood (20 bits by default) and a
    /// margin, as the widget does. A server asking more gets a proof of this much, which it may
    /// refuse; a lying server cannot make a client hash forever.
    public static let maxBits = 22

    /// The bytes every attempt starts with.
    static func prefix(challenge: AuthChallenge, member: MemberID) -> [UInt8] {
        var bytes = CanonicalBytes(label: DomainLabel.proofOfWork)
        bytes.append(challenge.server)
        bytes.append(challenge.nonce.bytes)
        bytes.append(member.bytes)
        return bytes.bytes
    }

    /// Whether `proof` shows `bits` of work for this challenge and member.
    public static func isValid(_ proof: [UInt8], bits: Int, challenge: AuthChallenge, member: MemberID) -> Bool {
        guard proof.count == proofLength else { return false }
        return leadingZeroBits(of: prefix(challenge: challenge, member: member) + proof) >= bits
    }

    /// Finds a proof of `bits` of work (about 2^bits hashes) for this challenge and member.
    public static func solve(bits: Int, challenge: AuthChallenge, member: MemberID) -> [UInt8] {
        var attempt = prefix(challenge: challenge, member: member) + [UInt8](repeating: 0, count: proofLength)
        let start = attempt.count - proofLength
        var counter: UInt64 = 0
        while true {
            withUnsafeBytes(of: counter.littleEndian) { attempt.replaceSubrange(start..., with: $0) }
            if leadingZeroBits(of: attempt) >= bits { return Array(attempt[start...]) }
            counter &+= 1
        }
    }

    /// The number of zero bits the BLAKE2b-256 hash of `bytes` starts with.
    static func leadingZeroBits(of bytes: [UInt8]) -> Int {
        // An unkeyed 32-byte BLAKE2b hash is always within libsodium's limits.
        let hash = (try? GenericHash.hash(bytes)) ?? [0xFF]
        var bits = 0
        for byte in hash {
            guard byte == 0 else { return bits + byte.leadingZeroBitCount }
            bits += 8
        }
        return bits
    }
}
