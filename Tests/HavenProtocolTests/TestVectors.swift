import Foundation
import Testing
import HavenProtocol
import Sodium

/// Tests/HavenProtocolTests/Vectors/vectors.json, produced by Tests/CrossCheck/make_vectors.py
/// with PyNaCl (an independent implementation) and checked here against the Swift code.
struct TestVectors: Decodable {
    struct Identity: Decodable {
        var name: String
        var seed: WireBytes
        var ed25519Public: WireBytes
        var x25519Public: WireBytes
    }
    struct Base64Case: Decodable {
        var hex: String
        var text: String
    }
    struct FrankingCase: Decodable {
        var key: WireBytes
        var body: WireBytes
        var commitment: WireBytes
    }
    struct AuthCase: Decodable {
        var server: String
        var nonce: WireBytes
        var member: String
        var signedBytes: WireBytes
        var signature: WireBytes
    }
    struct ProofOfWorkCase: Decodable {
        var server: String
        var nonce: WireBytes
        var member: String
        var bits: Int
        var proof: WireBytes
    }
    struct RoomMessageCase: Decodable {
        var epochKey: WireBytes
        var sender: String
        var frankingKey: WireBytes
        var body: WireBytes
        var associatedData: WireBytes
        var signedBytes: WireBytes
        var envelope: RoomEnvelope
    }
    struct BundleCase: Decodable {
        var sealer: String
        var recipient: String
        var epochKey: WireBytes
        var signedBytes: WireBytes
        var bundle: EpochKeyBundle
    }
    struct DirectCase: Decodable {
        var sender: String
        var recipient: String
        var frankingKey: WireBytes
        var body: WireBytes
        var signedBytes: WireBytes
        var message: DirectMessage
    }
    struct LegacyDirectCase: Decodable {
        var sender: String
        var recipient: String
        var body: WireBytes
        var message: DirectMessage
    }
    struct PaddingCase: Decodable {
        struct Bucket: Decodable {
            var length: Int
            var bucket: Int
        }
        struct Example: Decodable {
            var plaintext: WireBytes
            var padded: WireBytes
        }
        struct Invalid: Decodable {
            var why: String
            var padded: WireBytes
        }
        var floor: Int
        var sealedFloor: Int
        var buckets: [Bucket]
        var sealedBuckets: [Bucket]
        var examples: [Example]
        var sealedExamples: [Example]
        var invalid: [Invalid]
    }
    struct RejectedFrame: Decodable {
        var frame: String
        var code: String
    }

    var identities: [Identity]
    var base64url: [Base64Case]
    var franking: FrankingCase
    var auth: AuthCase
    var proofOfWork: ProofOfWorkCase
    var roomMessage: RoomMessageCase
    var epochKeyBundle: BundleCase
    var directMessage: DirectCase
    var legacyDirectMessage: LegacyDirectCase
    var padding: PaddingCase
    var rejectedFrames: [RejectedFrame]

    static func load() throws -> TestVectors {
        let url = try #require(Bundle.module.url(forResource: "vectors", withExtension: "json", subdirectory: "Vectors"))
        return try JSONDecoder().decode(TestVectors.self, from: Data(contentsOf: url))
    }

    func keyPair(_ name: String) throws -> SigningKeyPair {
        var seed = try #require(identities.first { $0.name == name }).seed.bytes
        return try SigningKeyPair(seed: SecretBytes(consuming: &seed))
    }
}

extension WireBytes {
    /// Copies the bytes into secure memory, for keys taken from the vectors.
    func secret() throws -> SecretBytes {
        var copy = bytes
        return try SecretBytes(consuming: &copy)
    }
}
