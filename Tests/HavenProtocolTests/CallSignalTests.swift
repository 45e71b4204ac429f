import HavenProtocol
import Sodium
import Testing

/// Call signals: each step carries what it needs, within limits, and opens only for its recipient
/// and only as the step its frame names.
@Suite struct CallSignalTests {
    let fixtures: Fixtures
    init() throws { fixtures = try Fixtures() }

    let id = WireBytes([UInt8](repeating: 1, count: 16))
    let fingerprint = "sha-256 " + Array(repeating: "AB", count: 32).joined(separator: ":")

    @Test func aRingOpensForItsRecipientWithItsSignedFingerprint() throws {
        let ring = CallSignal(call: id, kind: .ring, media: .video, fingerprint: fingerprint)
        let frame = try CallFrame.seal(ring, from: fixtures.alice, to: MemberID(fixtures.bob))
        #expect(frame.signal == .ring && frame.call == id)
        let opened = try frame.open(with: fixtures.bob)
        #expect(opened.signal == ring && opened.sender == MemberID(fixtures.alice.publicKey), "the caller is found inside the seal")
        #expect(frame.message.sender == nil, "no sender travels beside the seal")
        #expect(throws: ProtocolError.wrongRecipient(what: "call signal")) { try frame.open(with: fixtures.alice) }
    }

    @Test func aCallStepAndAPrivateMessageCannotPassForEachOther() throws {
        let frame = try CallFrame.seal(CallSignal(call: id, kind: .hangup), from: fixtures.alice, to: MemberID(fixtures.bob))
        #expect(throws: ProtocolError.signatureInvalid(what: "direct message")) { try frame.message.open(with: fixtures.bob) }
        let words = try DirectMessage.seal(MessageBody(call: CallSignal(call: id, kind: .hangup)), from: fixtures.alice, to: MemberID(fixtures.bob))
        let relabelled = CallFrame(call: id, signal: .hangup, message: words)
        #expect(throws: ProtocolError.signatureInvalid(what: "call signal")) { try relabelled.open(with: fixtures.bob) }
    }

    @Test func aFrameThatRelabelsItsSealedStepIsRejected() throws {
        var frame = try CallFrame.seal(CallSignal(call: id, kind: .decline), from: fixtures.alice, to: MemberID(fixtures.bob))
        frame.signal = .accept
        #expect(throws: ProtocolError.invalidField("call", reason: "the sealed signal does not match the frame")) {
            try frame.open(with: fixtures.bob)
        }
    }

    @Test func eachStepMustCarryWhatItNeeds() {
        #expect(throws: ProtocolError.missingField("call.fingerprint")) { try CallSignal(call: id, kind: .ring, media: .audio).validate() }
        #expect(throws: ProtocolError.missingField("call.media")) { try CallSignal(call: id, kind: .accept, fingerprint: fingerprint).validate() }
        #expect(throws: ProtocolError.missingField("call.sdp")) { try CallSignal(call: id, kind: .offer).validate() }
        #expect(throws: ProtocolError.missingField("call.candidate")) { try CallSignal(call: id, kind: .ice).validate() }
        #expect(throws: ProtocolError.missingField("call.media")) { try CallSignal(call: id, kind: .media).validate() }
        #expect(throws: ProtocolError.self) { try CallSignal(call: WireBytes([1, 2]), kind: .hangup).validate() }
    }

    @Test func malformedFingerprintsAndOversizedFieldsAreRefused() {
        for bad in ["sha-1 " + Array(repeating: "AB", count: 20).joined(separator: ":"), "sha-256 ab:cd", fingerprint.lowercased(), "sha-256"] {
            #expect(throws: ProtocolError.self, "\(bad)") { try CallSignal(call: id, kind: .ring, media: .audio, fingerprint: bad).validate() }
        }
        let sdp = String(repeating: "a", count: CallSignal.maxSDPBytes + 1)
        #expect(throws: ProtocolError.fieldTooLarge(field: "call.sdp", size: sdp.utf8.count, limit: CallSignal.maxSDPBytes)) {
            try CallSignal(call: id, kind: .offer, sdp: sdp).validate()
        }
        let candidate = String(repeating: "c", count: CallSignal.maxCandidateBytes + 1)
        #expect(throws: ProtocolError.self) { try CallSignal(call: id, kind: .ice, candidate: candidate).validate() }
    }
}
