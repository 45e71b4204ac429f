import Foundation
@_spi(TestVectors) import HavenProtocol
import Sodium
import Testing

/// Tests/HavenProtocolTests/Vectors/room-log.json, made by Tests/CrossCheck/make_room_log_vectors.py
/// with the PyNaCl reference: the Swift log and keyring must judge every sequence alike.
@Suite struct RoomLogVectorTests {
    struct Sequence: Decodable {
        var name: String
        var entries: [RoomLogEntry]
        var accepted: Int
        var error: String?
        var members: [MemberID]
        var excluded: [MemberID]
        var epoch: UInt64?
        var length: UInt64
        var head: WireBytes
        var mustRotate: Bool
    }
    struct EntryBytes: Decodable {
        var entry: RoomLogEntry
        var signedBytes: WireBytes
        var hash: WireBytes
    }
    struct Commitment: Decodable {
        var epoch: UInt64
        var key: WireBytes
        var commitment: WireBytes
    }
    struct BundleCase: Decodable {
        var name: String
        var sequence: Int
        var recipient: String
        var bundle: EpochKeyBundle
        var result: String
    }
    struct LoggedEnvelope: Decodable {
        var epochKey: WireBytes
        var envelope: RoomEnvelope
        var signedBytes: WireBytes
    }
    struct Vectors: Decodable {
        var room: RoomID
        var organisation: WireBytes
        var seeds: [String: WireBytes]
        var commitment: Commitment
        var entryBytes: [EntryBytes]
        var loggedEnvelope: LoggedEnvelope
        var sequences: [Sequence]
        var bundles: [BundleCase]
    }

    let vectors: Vectors

    init() throws {
        let url = try #require(Bundle.module.url(forResource: "room-log", withExtension: "json", subdirectory: "Vectors"))
        vectors = try JSONDecoder().decode(Vectors.self, from: Data(contentsOf: url))
    }

    func identity(_ name: String) throws -> SigningKeyPair {
        var seed = try #require(vectors.seeds[name]).bytes
        return try SigningKeyPair(seed: SecretBytes(consuming: &seed))
    }

    func keyring(_ name: String, fedWith entries: [RoomLogEntry]) throws -> (RoomKeyring, [RoomWarning]) {
        var keyring = RoomKeyring(room: vectors.room, identity: try identity(name), organisation: try SigningPublicKey(bytes: vectors.organisation.bytes))
        var warnings: [RoomWarning] = []
        for entry in entries { warnings += keyring.receive(entry).warnings }
        return (keyring, warnings)
    }

    @Test func entryBytesHashesAndCommitmentsMatchByteForByte() throws {
        for item in vectors.entryBytes {
            #expect(item.entry.signedBytes == item.signedBytes.bytes, "\(item.entry.kind)")
            #expect(item.entry.hash == item.hash.bytes, "\(item.entry.kind)")
            #expect(throws: Never.self) { try item.entry.verifySignature() }
        }
        var key = vectors.commitment.key.bytes
        let epochKey = try EpochKey(room: vectors.room, epoch: vectors.commitment.epoch, key: SecretBytes(consuming: &key))
        #expect(epochKey.commitment == vectors.commitment.commitment.bytes)
    }

    @Test func everySequenceIsJudgedAlike() throws {
        let organisation = try SigningPublicKey(bytes: vectors.organisation.bytes)
        for sequence in vectors.sequences {
            var log = RoomLog(room: vectors.room, organisation: organisation)
            var accepted = 0
            var refusal: String?
            for entry in sequence.entries {
                do {
                    try log.append(entry)
                    accepted += 1
                } catch {
                    refusal = error.name
                    break
                }
            }
            #expect(accepted == sequence.accepted, "\(sequence.name)")
            #expect(refusal == sequence.error, "\(sequence.name)")
            #expect(log.members == Set(sequence.members) && log.excluded == Set(sequence.excluded), "\(sequence.name)")
            #expect(log.currentEpoch?.epoch == sequence.epoch && log.length == sequence.length, "\(sequence.name)")
            #expect(log.head == sequence.head.bytes, "\(sequence.name)")
            let (keyring, warnings) = try keyring("alice", fedWith: sequence.entries)
            #expect(keyring.mustRotate == sequence.mustRotate, "\(sequence.name)")
            // A refused entry is a warning; one for a later position is held until the gap fills.
            #expect(warnings.count == (sequence.error == nil || sequence.error == "outOfOrder" ? 0 : 1), "\(sequence.name)")
        }
    }

    @Test func aBundleCountsOnlyIfItsKeyOpensTheCommitment() throws {
        for item in vectors.bundles {
            var (keyring, _) = try keyring(item.recipient, fedWith: vectors.sequences[item.sequence].entries)
            switch keyring.receive(item.bundle) {
            case .stored: #expect(item.result == "stored", "\(item.name)")
            case .refused(.keyMismatch?): #expect(item.result == "keyMismatch", "\(item.name)")
            default: Issue.record("\(item.name): unexpected result")
            }
        }
    }

    @Test func aLoggedEnvelopeSignsTheSendersViewOfTheLog() throws {
        let item = vectors.loggedEnvelope
        #expect(item.envelope.signedBytes == item.signedBytes.bytes)
        var key = item.epochKey.bytes
        let epochKey = try EpochKey(room: vectors.room, epoch: item.envelope.epoch, key: SecretBytes(consuming: &key))
        #expect(try item.envelope.open(with: epochKey).body.text == "The log agrees.")
        var altered = item.envelope
        altered.counter = 2
        #expect(throws: ProtocolError.signatureInvalid(what: "room message")) { try altered.open(with: epochKey) }
    }
}
